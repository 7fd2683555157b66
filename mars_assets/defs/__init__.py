"""Dagster definitions, loaded with ``dg.load_from_defs_folder``: a module's path is its asset key.

``defs/bronze/photos.py`` holds ``bronze/photos``; a multi-asset lives in the module of its
first key (``silver/photos`` also writes ``silver/photo_quarantine``); gold models are
``dbt/models/gold/<model>.sql``, loaded by ``defs/gold/dbt.py``.
"""
