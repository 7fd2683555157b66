"""Silver definitions."""
