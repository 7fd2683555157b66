"""Maintenance of the warehouse tables."""
