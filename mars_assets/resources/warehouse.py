"""The warehouse: one root, local or S3; silver as Delta Lake tables, queried with DuckDB.

Layout (a contract users query with plain DuckDB)::

    <root>/bronze/<source>/rover=<rover>/sol=<sol>/...     verbatim responses, image bytes
    <root>/silver/<table>/_delta_log/, rover=<rover>/...   Delta tables (mars_assets.resources.delta_tables)
    <root>/gold/<model>/part-0.parquet                     dbt models (dbt-duckdb external)
    <catalog>                                              views "<layer>"."<table>"

Read silver with ``delta_scan('<root>/silver/photos')`` (DuckDB's delta extension), never a
``read_parquet`` glob: a Delta folder also holds files replaced by later commits until they
are vacuumed.

The root is a local folder (default ``./warehouse``) or ``s3://bucket/prefix`` on AWS or
any S3-compatible store. Objects go through ``pyarrow.fs``, Delta tables through delta-rs
(``storage_options``), DuckDB through its delta and httpfs extensions, loaded from the
pip-installed ``duckdb-ext-*`` packages (no download at run time), with a temporary S3
secret created per connection. Credentials come from the nested dagster-aws
``S3Resource`` (configured from the standard AWS environment variables through
``dg.EnvVar``) and are never logged or stored.

A silver write is one Delta commit (all or nothing); a bronze object is written whole
(see Warehouse._put), so a writer killed half way leaves the previous version visible.

The catalog is a DuckDB file with views over the tables: ``<root>/warehouse.duckdb`` for
a local root, ``./warehouse.duckdb`` (or ``catalog``) for an S3 root, since DuckDB files
cannot live on S3. Only one process may hold it read-write at a time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
from dagster_aws.s3 import S3Resource

from mars_assets.resources import delta_tables
from mars_assets.resources.delta_tables import TableLayoutError
from mars_assets.resources.s3 import (
    S3Access,
    WarehouseAccessError,
    check_bucket,
    load_extensions,
    s3_filesystem,
    shared_database,
    sql_string,
)

CATALOG_FILE = "warehouse.duckdb"
#: The one data file per partition of the pre-Delta layout (delta-rs names files part-00000-<uuid>...).
OLD_PART_FILE = "part-0.parquet"
PARTITION_COLUMNS = ("rover", "sol")


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
    def table_uri(self, layer: str, table: str) -> str:
        """Where a table lives: the Delta table folder (silver) or the Parquet folder (gold)."""
        return self.path(layer, table)

    def storage_options(self) -> dict[str, str]:
        """delta-rs (object_store) options for this root: empty locally, endpoint and credentials on
        S3. They hold the credentials: pass them on, never log them."""
        return self._access().delta_options() if self.is_s3 else {}

    def _files(self, layer: str, table: str) -> list[pafs.FileInfo]:
        sel = pafs.FileSelector(self._p(layer, table), recursive=True, allow_not_found=True)
        return [i for i in self._fs().get_file_info(sel) if i.type == pafs.FileType.File]

    def _delta_log(self, layer: str, table: str) -> list[pafs.FileInfo]:
        return self._fs().get_file_info(pafs.FileSelector(self._p(layer, table, "_delta_log"), allow_not_found=True))

    def old_layout_files(self, layer: str, table: str, log: list[pafs.FileInfo] | None = None) -> list[str]:
        """Files of a table folder in the pre-Delta layout (``part-0.parquet`` files, no
        ``_delta_log``), as filesystem paths; [] for a Delta table, an empty folder, or the data
        files of a first Delta write still committing. ``log``: the ``_delta_log`` listing, if had."""
        if log if log is not None else self._delta_log(layer, table):
            return []
        files = self._files(layer, table)
        return [i.path for i in files] if any(i.base_name == OLD_PART_FILE for i in files) else []

    def delete_objects(self, paths: Iterable[str]) -> None:
        """Delete objects given as filesystem paths (from old_layout_files)."""
        fs = self._fs()
        for path in paths:
            fs.delete_file(path)

    def has_table(self, layer: str, table: str) -> bool:
        """Whether the table has been written: a Delta log (silver) or a Parquet file (gold).
        Raises TableLayoutError for a silver folder in the pre-Delta layout."""
        if layer != "silver":
            files = self._files(layer, table)
            return any(i.path.endswith(".parquet") and not i.base_name.startswith(".") for i in files)
        log = self._delta_log(layer, table)  # listed once: it answers both questions
        if self.old_layout_files(layer, table, log):
            raise TableLayoutError(
                f"{self.path(layer, table)} is a table of the pre-Delta layout (Parquet files, no _delta_log): "
                "run `mars-assets migrate` to convert the warehouse"
            )
        return any(i.base_name.endswith((".json", ".parquet")) for i in log)

    def open_delta(self, table: str, version: int | str | None = None):
        """The silver Delta table (deltalake.DeltaTable), as of ``version`` (number or ISO timestamp),
        or None before its first write."""
        if not self.has_table("silver", table):
            return None
        return delta_tables.open_table(self.table_uri("silver", table), self.storage_options(), version)

    def write_silver_table(
        self, table: str, data: pa.Table, partitions: list[tuple[str, int]] | None, commit_metadata: Mapping[str, str]
    ) -> delta_tables.Commit:
        """Replace rover × sol ``partitions`` of silver ``table`` (all of it when None) with ``data``
        in one Delta commit carrying ``commit_metadata`` (mars_assets.resources.delta_tables)."""
        self.has_table("silver", table)  # refuses a folder in the old layout
        return delta_tables.write_table(
            self.table_uri("silver", table),
            data,
            name=table,
            storage_options=self.storage_options(),
            partitions=partitions,
            commit_metadata=commit_metadata,
        )

    def maintain_silver_table(self, table: str, retention_hours: int) -> delta_tables.Maintenance | None:
        """Compact, checkpoint, clean the log of, and vacuum silver ``table`` (delta_tables.maintain),
        counting the bytes vacuum frees; None when the table has not been written."""
        if not self.has_table("silver", table):
            return None
        sizes = functools.partial(self._size, "silver", table)
        return delta_tables.maintain(self.table_uri("silver", table), self.storage_options(), retention_hours, sizes)

    def _size(self, layer: str, table: str, relpath: str) -> int | None:
        info = self._fs().get_file_info(self._p(layer, table, relpath))
        return info.size if info.type == pafs.FileType.File else None

    def relation_sql(self, layer: str, table: str) -> str:
        """SQL text of a relation that reads the whole table: ``delta_scan`` of a silver Delta table,
        ``read_parquet`` of a gold model's files."""
        if layer == "silver":
            return f"delta_scan({sql_string(self.table_uri(layer, table))})"
        glob = self.path(layer, table, "**", "*.parquet")
        return f"read_parquet({sql_string(glob)}, hive_partitioning = true, union_by_name = true)"

    def read_table(
        self,
        layer: str,
        table: str,
        partition: Mapping[str, Any] | None = None,
        where: str | None = None,
        params: list | None = None,
    ) -> pa.Table:
        """A table (or one rover × sol partition) as Arrow, partition columns included.

        ``where`` is a SQL condition with ``?`` placeholders bound from ``params``.
        Returns an empty table without columns when nothing was written yet.
        """
        if not self.has_table(layer, table):
            return pa.table({})
        conds, args = ([f"({where})"] if where else []), list(params or [])
        for k in PARTITION_COLUMNS:
            if partition and k in partition:
                conds.append(f"{k} = ?")
                args.append(partition[k])
        sql = f"select * from {self.relation_sql(layer, table)}" + (f" where {' and '.join(conds)}" if conds else "")
        with self.connect() as con:
            return con.execute(sql, args).fetch_arrow_table()

    # -- raw objects (bronze) ----------------------------------------------------------
    def _put(self, fs: pafs.FileSystem, path: str, data: bytes) -> None:
        """Write one object whole: on S3 a PUT (an object appears whole or not at all); locally a
        hidden temporary file in the same folder, renamed into place (listings skip names
        starting with ``.``)."""
        if self.is_s3:
            with fs.open_output_stream(path) as out:
                out.write(data)
            return
        folder, name = path.rsplit("/", 1)
        fs.create_dir(folder, recursive=True)
        tmp = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
        with fs.open_output_stream(tmp) as out:
            out.write(data)
        fs.move(tmp, path)

    def write_objects(self, prefix: str, objects: Mapping[str, bytes], *, replace: bool = True) -> list[str]:
        """Replace the objects under ``prefix`` with ``objects`` (name -> bytes); returns URIs.

        New objects are written first (each whole, see _put), then objects under the prefix
        that are not in ``objects`` are deleted (kept with ``replace=False``).
        """
        fs = self._fs()
        folder = self._p(prefix)
        written = []
        for name, data in objects.items():
            self._put(fs, f"{folder}/{name}", data)
            written.append(f"{folder}/{name}")
        keep = set(written)
        listing = fs.get_file_info(pafs.FileSelector(folder, recursive=True, allow_not_found=True)) if replace else []
        for info in listing:
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
    def _access(self) -> S3Access:
        key, secret, token = self._credentials()
        host, scheme = self._endpoint()
        region = self._s3().region_name or "us-east-1"
        return S3Access(key, secret, token, region, host, scheme, self._url_style())

    def duckdb_setup_sql(self) -> list[str]:
        """Statements that let a DuckDB connection read this root (a temporary S3 secret).

        They hold the credentials: run them, never log them.
        """
        if not self.is_s3:
            return []
        access = self._access()
        # one secret per bucket and endpoint (connections share one database: see shared_database),
        # scoped to the bucket; the name is a digest of where, never of the credentials
        bucket = f"s3://{self.bucket()}"
        where = hashlib.sha256(f"{bucket}|{access.host}".encode()).hexdigest()[:16]
        return [access.duckdb_secret_sql(f"mars_warehouse_{where}", bucket)]

    def prepare(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """``con`` with the delta (and, for S3, httpfs) extensions and the S3 secret loaded."""
        load_extensions(con, s3=self.is_s3)
        for stmt in self.duckdb_setup_sql():
            con.execute(stmt)
        return con

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt-duckdb subprocess (see dbt/profiles.yml): the extension folder and,
        on S3, the connection (S3Access.dbt_env: credentials only in ``DBT_ENV_SECRET_*``)."""
        env = {}
        try:
            import duckdb_ext

            env["MARS_DUCKDB_EXTENSION_DIR"] = duckdb_ext.get_extension_dir()
        except ImportError:
            pass
        return env | (self._access().dbt_env() if self.is_s3 else {})

    def open_catalog(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A connection to the catalog file, able to read the root (close it when done)."""
        return self.prepare(duckdb.connect(self.catalog_path(), read_only=read_only))

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB connection for compute (one per thread; close it when done), able to read
        the root: a cursor of the process's shared in-memory database, whose extensions are
        loaded once."""
        con = shared_database(self.is_s3).cursor()
        for stmt in self.duckdb_setup_sql():
            con.execute(stmt)
        return con

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
        con = self.prepare(duckdb.connect(self.catalog_path()))
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
