"""Dagster definitions, loaded with ``dg.load_from_defs_folder``: a module's path is its asset key.

``defs/bronze/images.py`` holds ``bronze/images``; a multi-asset lives in the module of its
first key (``bronze/photos`` also writes ``silver/photos`` and ``silver/photo_quarantine``);
gold models are ``dbt/models/gold/<model>.sql``, loaded by ``defs/gold/dbt.py``.
"""
