"""Helpers of the Dagster definitions in :mod:`mars_assets.defs` (no definitions here)."""
