"""Dashboards definitions."""
