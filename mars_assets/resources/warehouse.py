"""The warehouse: Parquet files under one root, queried with DuckDB.

Layout (a contract users query with plain DuckDB)::

    <root>/<layer>/<table>/rover=<rover>/sol=<sol>/part-0.parquet   partitioned tables
    <root>/<layer>/<table>/part-0.parquet                           other tables
    <root>/bronze/<source>/rover=<rover>/sol=<sol>/...              verbatim responses, image bytes
    <root>/warehouse.duckdb                                         views "<layer>"."<table>"

Partition columns (rover, sol) live in the directory names, not in the files: read with
``read_parquet('<root>/silver/photos/**/*.parquet', hive_partitioning = true)``.

Writes are idempotent and atomic per partition: a partition is one file, written to a
hidden temporary name in the same folder (``.part-0.parquet.<uuid>.tmp``, which no
``*.parquet`` glob matches) and renamed over the old file, so a rerun replaces the
partition's rows and a reader sees either the old file or the new one, never half.

The root is a local folder (default ``./warehouse``, or ``$MARS_WAREHOUSE``); I/O goes
through ``pyarrow.fs`` so another filesystem can stand behind the same code.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"
CATALOG_FILE = "warehouse.duckdb"
PARTITION_COLUMNS = ("rover", "sol")


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


class Warehouse(dg.ConfigurableResource):
    """The storage root of every layer and the DuckDB catalog over it."""

    root: str = "warehouse"

    # -- paths -------------------------------------------------------------------------
    def root_path(self) -> str:
        return str(Path(self.root).expanduser().resolve())

    def _fs(self) -> pafs.FileSystem:
        return pafs.LocalFileSystem()

    def path(self, *parts: str) -> str:
        return "/".join([self.root_path(), *[p.strip("/") for p in parts if p]])

    @staticmethod
    def partition_dir(partition: Mapping[str, Any] | None) -> str:
        if not partition:
            return ""
        return "/".join(f"{k}={partition[k]}" for k in PARTITION_COLUMNS if k in partition)

    def table_dir(self, layer: str, table: str, partition: Mapping[str, Any] | None = None) -> str:
        return self.path(layer, table, self.partition_dir(partition))

    def table_glob(self, layer: str, table: str) -> str:
        """The glob DuckDB reads a whole table with."""
        return self.path(layer, table, "**", "*.parquet")

    # -- tables ------------------------------------------------------------------------
    def write_table(self, layer: str, table: str, data: pa.Table,
                    partition: Mapping[str, Any] | None = None) -> str:
        """Replace one table (or one partition of it) with ``data``; returns the file path.

        Partition columns are dropped from the file (they are in the path). Any other
        ``*.parquet`` in the partition folder is removed after the new file is in place.
        """
        fs = self._fs()
        folder = self.table_dir(layer, table, partition)
        fs.create_dir(folder, recursive=True)
        if partition:
            data = data.drop_columns([c for c in PARTITION_COLUMNS if c in partition and c in data.column_names])
        final = f"{folder}/{PART_FILE}"
        tmp = f"{folder}/.{PART_FILE}.{uuid.uuid4().hex}.tmp"
        pq.write_table(data, tmp, filesystem=fs, compression="zstd")
        fs.move(tmp, final)
        for info in fs.get_file_info(pafs.FileSelector(folder)):
            if info.type == pafs.FileType.File and info.base_name.endswith(".parquet") and info.path != final:
                fs.delete_file(info.path)
        return final

    def has_table(self, layer: str, table: str) -> bool:
        folder = self.path(layer, table)
        fs = self._fs()
        if fs.get_file_info(folder).type != pafs.FileType.Directory:
            return False
        sel = pafs.FileSelector(folder, recursive=True)
        return any(i.path.endswith(".parquet") and not i.base_name.startswith(".") for i in fs.get_file_info(sel))

    def relation_sql(self, layer: str, table: str) -> str:
        """SQL text of a relation that reads the whole table (hive partitions as columns)."""
        return (f"read_parquet({sql_string(self.table_glob(layer, table))}, "
                "hive_partitioning = true, union_by_name = true)")

    def read_table(self, layer: str, table: str, partition: Mapping[str, Any] | None = None,
                   where: str | None = None) -> pa.Table:
        """A table (or one partition) as Arrow, partition columns included.

        Returns an empty table without columns when nothing was written yet.
        """
        if partition:
            f = f"{self.table_dir(layer, table, partition)}/{PART_FILE}"
            if self._fs().get_file_info(f).type != pafs.FileType.File:
                return pa.table({})
            t = pq.read_table(f, filesystem=self._fs())
            for k in PARTITION_COLUMNS:
                if k in partition:
                    typ = pa.int64() if k == "sol" else pa.string()
                    t = t.append_column(k, pa.array([partition[k]] * t.num_rows, typ))
            return t
        if not self.has_table(layer, table):
            return pa.table({})
        with self.connect() as con:
            sql = f"select * from {self.relation_sql(layer, table)}"
            return con.sql(sql + (f" where {where}" if where else "")).arrow().read_all()

    # -- raw objects (bronze) ----------------------------------------------------------
    def write_objects(self, prefix: str, objects: Mapping[str, bytes]) -> list[str]:
        """Replace the objects under ``prefix`` with ``objects`` (name -> bytes).

        New objects are written first (each via a temporary name and a rename), then
        objects under the prefix that are not in ``objects`` are deleted.
        """
        fs = self._fs()
        folder = self.path(prefix)
        fs.create_dir(folder, recursive=True)
        written = []
        for name, data in objects.items():
            final = f"{folder}/{name}"
            fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
            tmp = f"{final.rsplit('/', 1)[0]}/.{final.rsplit('/', 1)[1]}.{uuid.uuid4().hex}.tmp"
            with fs.open_output_stream(tmp) as out:
                out.write(data)
            fs.move(tmp, final)
            written.append(final)
        keep = set(written)
        for info in fs.get_file_info(pafs.FileSelector(folder, recursive=True)):
            if info.type == pafs.FileType.File and info.path not in keep:
                fs.delete_file(info.path)
        return written

    def ensure_dir(self, prefix: str) -> None:
        """Create the folder ``<root>/<prefix>`` if the filesystem has folders."""
        self._fs().create_dir(self.path(prefix), recursive=True)

    def list_objects(self, prefix: str) -> list[str]:
        """Object paths under ``prefix`` relative to it, sorted; [] when absent."""
        fs = self._fs()
        folder = self.path(prefix)
        if fs.get_file_info(folder).type != pafs.FileType.Directory:
            return []
        infos = fs.get_file_info(pafs.FileSelector(folder, recursive=True))
        return sorted(i.path[len(folder) + 1:] for i in infos
                      if i.type == pafs.FileType.File and not i.base_name.startswith("."))

    def read_object(self, path: str) -> bytes:
        with self._fs().open_input_stream(self.path(path)) as f:
            return f.read()

    # -- DuckDB ------------------------------------------------------------------------
    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB connection for compute (parallel-safe)."""
        return duckdb.connect(":memory:")

    def catalog_path(self) -> str:
        return self.path(CATALOG_FILE)

    def refresh_catalog(self, tables: Iterable[tuple[str, str]]) -> list[str]:
        """(Re)create views ``<layer>.<table>`` in ``<root>/warehouse.duckdb`` for tables with files.

        Only one process may hold the file read-write: callers run this from a single
        step at a time. Returns the names of the views created.
        """
        os.makedirs(self.root_path(), exist_ok=True)
        made = []
        con = duckdb.connect(self.catalog_path())
        try:
            for layer, table in tables:
                if not self.has_table(layer, table):
                    continue
                con.execute(f'create schema if not exists "{layer}"')
                con.execute(f'create or replace view "{layer}"."{table}" as select * from {self.relation_sql(layer, table)}')
                made.append(f"{layer}.{table}")
        finally:
            con.close()
        return made


class WarehouseIOManager(dg.ConfigurableIOManager):
    """IO manager that stores ``pyarrow.Table`` outputs as warehouse Parquet.

    Asset key ``[layer, table]`` maps to ``<root>/<layer>/<table>/``; a rover × sol
    partition to ``rover=<rover>/sol=<sol>/part-0.parquet``. Loading an input reads the
    upstream partition (same rover × sol) or, for an unpartitioned downstream, the whole
    table.
    """

    warehouse: Warehouse

    @staticmethod
    def _layer_table(key: dg.AssetKey) -> tuple[str, str]:
        if len(key.path) != 2:
            raise ValueError(f"asset key {key.to_user_string()} is not [layer, table]")
        return key.path[0], key.path[1]

    @staticmethod
    def _partition(context: dg.OutputContext | dg.InputContext) -> dict[str, Any] | None:
        if not context.has_asset_partitions:
            return None
        keys = context.asset_partition_keys
        if len(keys) != 1:
            return None
        key = keys[0]
        if isinstance(key, dg.MultiPartitionKey):
            return {"rover": key.keys_by_dimension["rover"], "sol": int(key.keys_by_dimension["sol"])}
        return None

    def handle_output(self, context: dg.OutputContext, obj: pa.Table) -> None:
        if obj is None:
            return
        layer, table = self._layer_table(context.asset_key)
        partition = self._partition(context)
        if context.has_asset_partitions and partition is None:
            raise ValueError("WarehouseIOManager writes one rover × sol partition at a time")
        path = self.warehouse.write_table(layer, table, obj, partition)
        context.add_output_metadata({"dagster/row_count": obj.num_rows, "path": dg.MetadataValue.path(path)})

    def load_input(self, context: dg.InputContext) -> pa.Table:
        layer, table = self._layer_table(context.asset_key)
        partition = self._partition(context) if context.has_asset_partitions else None
        return self.warehouse.read_table(layer, table, partition)
