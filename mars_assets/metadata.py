"""Dagster metadata from the table contracts of :mod:`mars_assets.schemas`.

An asset attaches its table's columns, types and descriptions for the Dagster UI as
definition metadata::

    @dg.asset(metadata={"dagster/column_schema": column_schema(PHOTOS_SCHEMA)}, ...)
"""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from mars_assets.schemas import describe


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    """One ``dg.TableColumn(name, type=<Arrow type string>, description=...)`` per field, in order.

    Raises ValueError naming the column when a field has no ``description`` metadata.
    """
    columns = []
    for name, type_, description in describe(schema):
        if not description:
            raise ValueError(f"column {name!r} has no description (field metadata b'description')")
        columns.append(dg.TableColumn(name, type=type_, description=description))
    return dg.TableSchema(columns=columns)
