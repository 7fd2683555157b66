"""Automation definitions."""
