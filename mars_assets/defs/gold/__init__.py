"""Gold definitions."""
