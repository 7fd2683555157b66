"""Bronze definitions."""
