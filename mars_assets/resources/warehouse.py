"""The warehouse: Parquet files under one root, local or S3, queried with DuckDB.

Layout (a contract users query with plain DuckDB)::

    <root>/<layer>/<table>/rover=<rover>/sol=<sol>/part-0.parquet   partitioned tables
    <root>/<layer>/<table>/part-0.parquet                           other tables
    <root>/bronze/<source>/rover=<rover>/sol=<sol>/...              verbatim responses, image bytes
    <catalog>                                                       views "<layer>"."<table>"

Partition columns (rover, sol) live in the directory names, not in the files: read with
``read_parquet('<root>/silver/photos/**/*.parquet', hive_partitioning = true)``.

The root is a local folder (default ``./warehouse``) or ``s3://bucket/prefix`` on AWS or
any S3-compatible store. Every read and write goes through ``pyarrow.fs`` (one code
path for both); DuckDB reads S3 through its httpfs extension, loaded from the
pip-installed ``duckdb-ext-httpfs`` (no download at run time), with a temporary S3
secret created per connection. Credentials come from the nested dagster-aws
``S3Resource`` (configured from the standard AWS environment variables through
``dg.EnvVar``) and are never logged or stored.

Writes are idempotent and atomic per partition. A partition is one object,
``part-0.parquet``. It is first written completely under a hidden temporary name in the
same folder (``.part-0.parquet.<uuid>.tmp``), then moved over the old object (a rename
locally; a server-side copy on S3, where an object appears whole or not at all), and only
then are other ``*.parquet`` objects of the partition removed. The reader rule: read only
``*.parquet`` objects (names starting with ``.`` are in-flight writes), so a rerun leaves
exactly one copy of a partition's rows and a writer killed half way leaves the previous
complete partition visible.

The catalog is a DuckDB file with views over the Parquet: ``<root>/warehouse.duckdb`` for
a local root, ``./warehouse.duckdb`` (or ``catalog``) for an S3 root, since DuckDB files
cannot live on S3. Only one process may hold it read-write at a time.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from dagster_aws.s3 import S3Resource

from mars_assets.resources.s3 import (
    WarehouseAccessError,
    check_bucket,
    load_httpfs,
    s3_filesystem,
    sql_string,
)

PART_FILE = "part-0.parquet"
CATALOG_FILE = "warehouse.duckdb"
PARTITION_COLUMNS = ("rover", "sol")
#: A hidden temporary object older than this is a killed writer's leftover (write_table removes it).
STALE_TMP_SECONDS = 3600


class Warehouse(dg.ConfigurableResource):
    """The storage root of every layer and the DuckDB catalog over it.

    ``root``: a local folder or ``s3://bucket/prefix``. ``s3``: connection settings for an
    S3 root (endpoint, region, credentials); ``s3_url_style``: ``path`` (MinIO, moto, most
    S3-compatible stores) or ``vhost`` (AWS), default ``path`` when an endpoint is set.
    ``catalog``: path of the DuckDB catalog file (default above).
    """

    root: str = "warehouse"
    s3: S3Resource | None = None
    s3_url_style: str | None = None
    catalog: str | None = None

    # -- paths -------------------------------------------------------------------------
    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    def root_path(self) -> str:
        """The root as DuckDB and users see it: an absolute folder or ``s3://bucket/prefix``."""
        if self.is_s3:
            return self.root.rstrip("/")
        return str(Path(self.root).expanduser().resolve())

    def path(self, *parts: str) -> str:
        """``<root>/<parts...>`` as a URI (absolute path or s3://...)."""
        return "/".join([self.root_path(), *[p.strip("/") for p in parts if p]])

    def _p(self, *parts: str) -> str:
        """The same location as a pyarrow filesystem path (``bucket/prefix/...`` on S3)."""
        uri = self.path(*parts)
        return uri[len("s3://") :] if self.is_s3 else uri

    def bucket(self) -> str:
        return urlsplit(self.root).netloc

    def _s3(self) -> S3Resource:
        return self.s3 or S3Resource()

    def _endpoint(self) -> tuple[str | None, str]:
        """(host[:port] or None, scheme) of the S3 endpoint."""
        url = self._s3().endpoint_url
        if not url:
            return None, "https"
        parts = urlsplit(url if "://" in url else f"https://{url}")
        return parts.netloc, parts.scheme

    def _credentials(self) -> tuple[str | None, str | None, str | None]:
        s3 = self._s3()
        if s3.aws_access_key_id and s3.aws_secret_access_key:
            return s3.aws_access_key_id, s3.aws_secret_access_key, s3.aws_session_token
        import boto3  # the standard AWS chain: environment, shared files, instance role

        creds = boto3.Session(profile_name=s3.profile_name).get_credentials()
        if creds is None:
            return None, None, None
        frozen = creds.get_frozen_credentials()
        return frozen.access_key, frozen.secret_key, frozen.token

    def _url_style(self) -> str:
        return self.s3_url_style or ("path" if self._s3().endpoint_url else "vhost")

    def _fs(self) -> pafs.FileSystem:
        """The pyarrow filesystem of the root. On S3 one filesystem per endpoint and credentials
        is kept for the process (s3_filesystem), so its connections are reused from call to call
        instead of a new connection (and TLS handshake) for every object; credentials are looked
        up on every call, so rotated ones give a new filesystem."""
        if not self.is_s3:
            return pafs.LocalFileSystem()
        key, secret, token = self._credentials()
        host, scheme = self._endpoint()
        return s3_filesystem(
            key,
            secret,
            token,
            self._s3().region_name or "us-east-1",
            host,
            scheme,
            self._url_style() == "vhost" and host is not None,
        )

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

    # -- access check ------------------------------------------------------------------
    def check_access(self) -> None:
        """Fail fast, before any work, when the root cannot be written.

        Raises WarehouseAccessError with one line: missing bucket, rejected credentials,
        unreachable endpoint, or a local root that is not a writable folder.
        """
        if not self.is_s3:
            root = Path(self.root_path())
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WarehouseAccessError(f"warehouse root {root} cannot be created: {exc.strerror}") from None
            if not os.access(root, os.W_OK):
                raise WarehouseAccessError(f"warehouse root {root} is not writable")
            return
        check_bucket(self._s3(), self.bucket(), self._credentials())

    # -- tables ------------------------------------------------------------------------
    def _replace(self, fs: pafs.FileSystem, folder: str, name: str, write) -> str:
        """Write ``name`` in ``folder`` via a hidden temporary object, move it into place,
        then delete the folder's other objects that ``write`` did not produce (``*.parquet`` only
        when ``name`` is a Parquet part)."""
        final = f"{folder}/{name}"
        tmp = f"{folder}/.{name.rsplit('/', 1)[-1]}.{uuid.uuid4().hex}.tmp"
        if "/" in name:
            tmp = f"{final.rsplit('/', 1)[0]}/.{name.rsplit('/', 1)[1]}.{uuid.uuid4().hex}.tmp"
        write(tmp)
        fs.move(tmp, final)
        return final

    def write_table(self, layer: str, table: str, data: pa.Table, partition: Mapping[str, Any] | None = None) -> str:
        """Replace one table (or one partition of it) with ``data``; returns the object URI.

        Partition columns are dropped from the file (they are in the path). Any other
        ``*.parquet`` in the partition folder is removed after the new object is in place, and
        so is a hidden ``.*.tmp`` older than STALE_TMP_SECONDS (the leftover of a killed writer).
        """
        fs = self._fs()
        folder = self._p(layer, table, self.partition_dir(partition))
        if not self.is_s3:
            fs.create_dir(folder, recursive=True)
        if partition:
            data = data.drop_columns([c for c in PARTITION_COLUMNS if c in partition and c in data.column_names])
        final = self._replace(
            fs, folder, PART_FILE, lambda tmp: pq.write_table(data, tmp, filesystem=fs, compression="zstd")
        )
        cutoff = time.time() - STALE_TMP_SECONDS
        for info in fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
            if info.type != pafs.FileType.File or info.path == final:
                continue
            if info.base_name.endswith(".parquet"):
                fs.delete_file(info.path)
            elif (
                info.base_name.startswith(".")
                and info.base_name.endswith(".tmp")
                and info.mtime is not None
                and info.mtime.timestamp() < cutoff
            ):
                fs.delete_file(info.path)  # left by a writer killed mid-write; no write lasts this long
        return self.path(layer, table, self.partition_dir(partition), PART_FILE)

    def has_table(self, layer: str, table: str) -> bool:
        fs = self._fs()
        sel = pafs.FileSelector(self._p(layer, table), recursive=True, allow_not_found=True)
        return any(
            i.type == pafs.FileType.File and i.path.endswith(".parquet") and not i.base_name.startswith(".")
            for i in fs.get_file_info(sel)
        )

    def relation_sql(self, layer: str, table: str) -> str:
        """SQL text of a relation that reads the whole table (hive partitions as columns)."""
        return (
            f"read_parquet({sql_string(self.table_glob(layer, table))}, hive_partitioning = true, union_by_name = true)"
        )

    def read_table(
        self,
        layer: str,
        table: str,
        partition: Mapping[str, Any] | None = None,
        where: str | None = None,
        params: list | None = None,
    ) -> pa.Table:
        """A table (or one partition) as Arrow, partition columns included.

        ``where`` is a SQL condition with ``?`` placeholders bound from ``params``.
        Returns an empty table without columns when nothing was written yet.
        """
        if partition:
            fs = self._fs()
            f = f"{self._p(layer, table, self.partition_dir(partition))}/{PART_FILE}"
            if fs.get_file_info(f).type != pafs.FileType.File:
                return pa.table({})
            t = pq.read_table(f, filesystem=fs)
            for k in PARTITION_COLUMNS:
                if k in partition:
                    typ = pa.int64() if k == "sol" else pa.string()
                    t = t.append_column(k, pa.array([partition[k]] * t.num_rows, typ))
            return t
        if not self.has_table(layer, table):
            return pa.table({})
        with self.connect() as con:
            sql = f"select * from {self.relation_sql(layer, table)}" + (f" where {where}" if where else "")
            return con.execute(sql, params or []).fetch_arrow_table()

    # -- raw objects (bronze) ----------------------------------------------------------
    def write_objects(self, prefix: str, objects: Mapping[str, bytes]) -> list[str]:
        """Replace the objects under ``prefix`` with ``objects`` (name -> bytes); returns URIs.

        New objects are written first (each via a temporary name and a move), then
        objects under the prefix that are not in ``objects`` are deleted.
        """
        fs = self._fs()
        folder = self._p(prefix)
        written = []
        for name, data in objects.items():
            if not self.is_s3:
                fs.create_dir(f"{folder}/{name}".rsplit("/", 1)[0], recursive=True)

            def write(tmp: str, data: bytes = data) -> None:
                with fs.open_output_stream(tmp) as out:
                    out.write(data)

            written.append(self._replace(fs, folder, name, write))
        keep = set(written)
        for info in fs.get_file_info(pafs.FileSelector(folder, recursive=True, allow_not_found=True)):
            if info.type == pafs.FileType.File and info.path not in keep:
                fs.delete_file(info.path)
        return [f"s3://{p}" if self.is_s3 else p for p in written]

    def ensure_dir(self, prefix: str) -> None:
        """Create the folder ``<root>/<prefix>`` (S3 has no folders: nothing to do)."""
        if not self.is_s3:
            self._fs().create_dir(self._p(prefix), recursive=True)

    def list_objects(self, prefix: str) -> list[str]:
        """Object paths under ``prefix`` relative to it, sorted, hidden (in-flight) ones left out."""
        folder = self._p(prefix)
        infos = self._fs().get_file_info(pafs.FileSelector(folder, recursive=True, allow_not_found=True))
        return sorted(
            i.path[len(folder) + 1 :] for i in infos if i.type == pafs.FileType.File and not i.base_name.startswith(".")
        )

    def local_file(self, path: str) -> str | None:
        """The absolute filesystem path of the object ``<root>/<path>`` when the warehouse is a
        local folder (whether or not the object exists), else None (S3)."""
        return None if self.is_s3 else self._p(path)

    def read_object(self, path: str) -> bytes:
        """The whole object at ``<root>/<path>``. On S3 that is one HEAD and one GET: a
        random-access file knows its size, whereas pyarrow's input stream fetches an object in
        ranged GETs of 256 KiB (12 round trips for a 3 MB rover PNG). Raises FileNotFoundError
        (or pyarrow's OSError on S3) if there is no such object."""
        with self._fs().open_input_file(self._p(path)) as f:
            return f.read()

    # -- DuckDB ------------------------------------------------------------------------
    def duckdb_setup_sql(self) -> list[str]:
        """Statements that let a DuckDB connection read this root (httpfs + a temporary S3 secret).

        They hold the credentials: run them, never log them.
        """
        if not self.is_s3:
            return []
        key, secret, token = self._credentials()
        host, scheme = self._endpoint()
        opts = [
            f"KEY_ID {sql_string(key or '')}",
            f"SECRET {sql_string(secret or '')}",
            f"REGION {sql_string(self._s3().region_name or 'us-east-1')}",
            f"URL_STYLE {sql_string(self._url_style())}",
        ]
        if token:
            opts.append(f"SESSION_TOKEN {sql_string(token)}")
        if host:
            opts += [f"ENDPOINT {sql_string(host)}", f"USE_SSL {'true' if scheme == 'https' else 'false'}"]
        return [f"CREATE OR REPLACE TEMPORARY SECRET mars_warehouse (TYPE s3, {', '.join(opts)})"]

    def _prepare(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        if self.is_s3:
            load_httpfs(con)
            for stmt in self.duckdb_setup_sql():
                con.execute(stmt)
        return con

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt-duckdb subprocess (see dbt/profiles.yml).

        Credentials go in ``DBT_ENV_SECRET_*`` variables, which dbt scrubs from its logs and
        artifacts; nothing secret travels in ``--vars``.
        """
        env = {}
        try:
            import duckdb_ext

            env["MARS_DUCKDB_EXTENSION_DIR"] = duckdb_ext.get_extension_dir()
        except ImportError:
            pass
        if self.is_s3:
            key, secret, token = self._credentials()
            host, scheme = self._endpoint()
            env.update(
                {
                    "MARS_S3_REGION": self._s3().region_name or "us-east-1",
                    "MARS_S3_ENDPOINT_HOST": host or "s3.amazonaws.com",
                    "MARS_S3_URL_STYLE": self._url_style(),
                    "MARS_S3_USE_SSL": "true" if scheme == "https" else "false",
                    "DBT_ENV_SECRET_S3_KEY_ID": key or "",
                    "DBT_ENV_SECRET_S3_SECRET": secret or "",
                    "DBT_ENV_SECRET_S3_SESSION_TOKEN": token or "",
                }
            )
        return env

    def open_catalog(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A connection to the catalog file, able to read the root (close it when done)."""
        return self._prepare(duckdb.connect(self.catalog_path(), read_only=read_only))

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB connection for compute (parallel-safe), able to read the root."""
        return self._prepare(duckdb.connect(":memory:"))

    def catalog_path(self) -> str:
        if self.catalog:
            return str(Path(self.catalog).expanduser().resolve())
        if self.is_s3:
            return str(Path(CATALOG_FILE).resolve())
        return self.path(CATALOG_FILE)

    def refresh_catalog(self, tables: Iterable[tuple[str, str]]) -> list[str]:
        """(Re)create views ``<layer>.<table>`` in the catalog file for tables with files.

        Only one process may hold the file read-write: callers run this from a single
        step at a time. Returns the names of the views created.
        """
        Path(self.catalog_path()).parent.mkdir(parents=True, exist_ok=True)
        made = []
        con = self._prepare(duckdb.connect(self.catalog_path()))
        try:
            for layer, table in tables:
                if not self.has_table(layer, table):
                    continue
                con.execute(f'create schema if not exists "{layer}"')
                con.execute(
                    f'create or replace view "{layer}"."{table}" as select * from {self.relation_sql(layer, table)}'
                )
                made.append(f"{layer}.{table}")
        finally:
            con.close()
        return made
