"""``mars-assets tables`` / ``sql`` / ``migrate``: the silver Delta tables from the command line.

    mars-assets tables history silver.photos [--limit N]
    mars-assets tables read silver.photos (--version N | --as-of 2026-12-01T10:00:00Z) [--where SQL] [--limit N]
    mars-assets tables overwrite-schema silver.photos
    mars-assets sql ["select ..."]          (statements from stdin when no query is given)
    mars-assets migrate

Each takes ``--warehouse`` (default ``$MARS_WAREHOUSE`` or ``./warehouse``; S3 settings from the
environment, see mars_assets.settings). ``read`` prints CSV; ``sql`` prints DuckDB's table
rendering of each result.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from mars_assets.resources import Warehouse, delta_tables
from mars_assets.resources.s3 import sql_string
from mars_assets.schemas import SILVER_SCHEMAS

#: Columns of ``tables history``, in print order.
HISTORY_COLUMNS = ("version", "timestamp", "operation", "dagster_run_id", "dagster_partitions", "rows_added")


def warehouse_of(root: str | None) -> Warehouse:
    """The warehouse of ``root`` (default $MARS_WAREHOUSE or ./warehouse) with the S3 settings of the environment."""
    from mars_assets.settings import Settings

    settings = Settings.from_env()
    root = root or settings.warehouse
    if not root.startswith("s3://"):
        root = str(Path(root).expanduser().resolve())
    return dataclasses.replace(settings, warehouse=root).warehouse_resource(resolved=True)


def silver_table(name: str) -> str:
    """``silver.photos`` or ``photos`` -> ``photos``; ValueError for a table that is not silver."""
    table = name.removeprefix("silver.")
    if table not in SILVER_SCHEMAS:
        raise ValueError(f"{name!r} is not a silver table (one of: {', '.join(sorted(SILVER_SCHEMAS))})")
    return table


def _require(wh: Warehouse, table: str, version=None):
    dt = wh.open_delta(table, version)
    if dt is None:
        raise ValueError(f"silver.{table} has not been written in {wh.root_path()}")
    return dt


def print_history(wh: Warehouse, table: str, limit: int | None, out) -> int:
    rows = delta_tables.history(_require(wh, table), limit)
    out.write("\t".join(HISTORY_COLUMNS) + "\n")
    for row in rows:
        out.write("\t".join("" if row[c] is None else str(row[c]) for c in HISTORY_COLUMNS) + "\n")
    return 0


def read_as_of(wh: Warehouse, table: str, version: int | str, where: str | None, limit: int | None) -> pa.Table:
    """Silver ``table`` as of ``version`` (number or ISO-8601 timestamp), filtered by a SQL ``where``."""
    data = pa.table(_require(wh, table, version).to_pyarrow_table())
    if where or limit is not None:
        import duckdb

        sql = "select * from data" + (f" where {where}" if where else "") + (f" limit {int(limit)}" if limit else "")
        data = duckdb.connect().execute(sql).fetch_arrow_table()
    return data


def overwrite_schema(wh: Warehouse, table: str, out) -> int:
    """Rewrite silver ``table`` in the project's current schema (one commit; older versions stay)."""
    from mars_assets.lib.silver import storage_schema

    commit = delta_tables.overwrite_schema(
        wh.table_uri("silver", table),
        storage_schema(table),
        name=table,
        storage_options=wh.storage_options(),
        commit_metadata={"dagster_run_id": f"cli-{uuid.uuid4().hex[:8]}", "dagster_asset_key": f"silver/{table}"},
    )
    print(f"silver.{table}: version {commit.version}, {commit.rows} rows in the new schema", file=out)
    return 0


def sql_connection(wh: Warehouse):
    """DuckDB on the catalog (read-only) when it exists, else in memory with a view per written
    table; the delta and httpfs extensions and the S3 secret are loaded either way, offline."""
    if Path(wh.catalog_path()).exists():
        return wh.open_catalog(read_only=True)
    import duckdb

    con = wh.prepare(duckdb.connect(":memory:"))  # a database of its own: the views stay in it
    for layer, table in [("silver", t) for t in SILVER_SCHEMAS]:
        if wh.has_table(layer, table):
            con.execute(f'create schema if not exists "{layer}"')
            con.execute(f'create view "{layer}"."{table}" as select * from {wh.relation_sql(layer, table)}')
    return con


def run_sql(wh: Warehouse, query: str | None, out, stdin=None) -> int:
    """Run ``query`` (or the statements read from ``stdin``, default sys.stdin) and print each result."""
    stdin = stdin or sys.stdin
    con = sql_connection(wh)
    try:
        if query is None and stdin.isatty():
            print(f"DuckDB on {wh.catalog_path()}: end statements with ';', Ctrl-D quits", file=out)
        text = query if query is not None else stdin.read()
        for statement in con.extract_statements(text):
            rel = con.sql(statement.query)
            if rel is not None:
                print(rel, file=out)
    finally:
        con.close()
    return 0


def migrate(wh: Warehouse, out) -> int:
    """Convert silver tables of the pre-Delta layout (``rover=<r>/sol=<s>/part-0.parquet``) into
    Delta tables (one commit each), then delete the old files. Tables already in Delta are left."""
    from mars_assets.lib.silver import storage_schema

    converted = 0
    for table in SILVER_SCHEMAS:
        old = wh.old_layout_files("silver", table)
        if not old:
            continue
        glob = wh.path("silver", table, "**", "*.parquet")
        with wh.connect() as con:
            rel = f"read_parquet({sql_string(glob)}, hive_partitioning = true, union_by_name = true)"
            data = con.execute(f"select * from {rel}").fetch_arrow_table()
        data = delta_tables.conform(data, storage_schema(table))
        commit = delta_tables.write_table(
            wh.table_uri("silver", table),
            data,
            name=table,
            storage_options=wh.storage_options(),
            partitions=None,
            commit_metadata={"dagster_run_id": "migrate", "dagster_asset_key": f"silver/{table}"},
        )
        wh.delete_objects(old)
        converted += 1
        print(
            f"silver.{table}: {len(old)} Parquet files -> Delta version {commit.version}, {data.num_rows} rows",
            file=out,
        )
    print(f"{converted} tables migrated" if converted else "nothing to migrate: every silver table is Delta", file=out)
    return 0


def add_parsers(sub) -> None:
    """The ``tables``, ``sql`` and ``migrate`` subcommands of ``mars-assets``."""
    tables = sub.add_parser("tables", help="history, time travel and schema rewrite of the silver Delta tables")
    tsub = tables.add_subparsers(dest="tables_command", required=True)
    hist = tsub.add_parser("history", help="the table's versions, newest first (run id and partitions of each)")
    read = tsub.add_parser("read", help="the table as of a version or timestamp, as CSV")
    over = tsub.add_parser("overwrite-schema", help="rewrite the table in the current schema (a breaking change)")
    for p in (hist, read, over):
        p.add_argument("table", help="silver.<table>, e.g. silver.photos")
    hist.add_argument("--limit", type=int, default=None)
    when = read.add_mutually_exclusive_group(required=True)
    when.add_argument("--version", type=int)
    when.add_argument("--as-of", help="an ISO-8601 timestamp, e.g. 2026-12-01T10:00:00Z")
    read.add_argument("--where", default=None, help='a SQL condition, e.g. "sol = 1000"')
    read.add_argument("--limit", type=int, default=None)
    sql = sub.add_parser("sql", help="DuckDB on the catalog, extensions and S3 secret loaded (offline)")
    sql.add_argument("query", nargs="?", default=None, help="statements to run (default: read from stdin)")
    migrate_p = sub.add_parser("migrate", help="convert silver tables of the pre-Delta layout to Delta")
    for p in (hist, read, over, sql, migrate_p):
        p.add_argument("--warehouse", default=None, help="warehouse root (default $MARS_WAREHOUSE or ./warehouse)")


def run(args, out=None) -> int:
    """Run a parsed ``tables`` / ``sql`` / ``migrate`` command (output to ``out``, default stdout)."""
    out = out or sys.stdout
    wh = warehouse_of(args.warehouse or os.environ.get("MARS_WAREHOUSE"))
    if args.command == "sql":
        return run_sql(wh, args.query, out)
    if args.command == "migrate":
        return migrate(wh, out)
    table = silver_table(args.table)
    if args.tables_command == "history":
        return print_history(wh, table, args.limit, out)
    if args.tables_command == "overwrite-schema":
        return overwrite_schema(wh, table, out)
    version = args.version if args.version is not None else args.as_of
    data = read_as_of(wh, table, version, args.where, args.limit)
    buf = pa.BufferOutputStream()
    pacsv.write_csv(data, buf)
    out.write(buf.getvalue().to_pybytes().decode())
    return 0
