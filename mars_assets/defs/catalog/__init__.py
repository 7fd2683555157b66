"""Catalog definitions."""
