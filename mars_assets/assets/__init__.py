"""Software-defined assets by layer: bronze, silver, gold, dashboards."""
