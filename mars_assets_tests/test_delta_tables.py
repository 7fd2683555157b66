"""Silver Delta tables (mars_assets.resources.delta_tables, Warehouse.write_silver_table) on real
local folders and on a real S3 endpoint (moto's server): concurrent writers in two OS processes,
predicate replace, time travel, schema evolution, the pre-Delta layout, maintenance, secrets."""

from __future__ import annotations

import collections
import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import duckdb
import duckdb_ext
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from mars_assets.resources import delta_tables
from mars_assets.resources.delta_tables import SchemaChangeError, TableLayoutError
from mars_assets.resources.warehouse import Warehouse
from mars_assets.settings import Settings
from mars_assets_tests.conftest import S3_SECRET

ROOT = Path(__file__).resolve().parent.parent
TABLE = "photos"


# -- warehouses: local and on the moto endpoint ---------------------------------------------


@pytest.fixture
def wh(request, tmp_path) -> Warehouse:
    """A fresh warehouse: a local folder (with an apostrophe and a space: every path reaches SQL
    as an escaped literal) or a prefix of a fresh bucket on the moto endpoint."""
    if request.param == "local":
        return Warehouse(root=str(tmp_path / "it's a warehouse"))
    s3_env = request.getfixturevalue("s3_env")
    return Settings(
        warehouse=f"s3://{s3_env['bucket']}/wh",
        s3_endpoint=s3_env["MARS_S3_ENDPOINT"],
        s3_region="us-east-1",
        catalog=s3_env["MARS_CATALOG"],
    ).warehouse_resource(resolved=True)


BOTH = ["local", "s3"]
BOTH_S3_SLOW = ["local", pytest.param("s3", marks=pytest.mark.slow)]


# -- helpers ---------------------------------------------------------------------------------


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def photos(rows, **extra) -> pa.Table:
    """A minimal photos table: (photo_id, rover, sol) rows, plus extra columns given as lists."""
    ids, rovers, sols = zip(*rows, strict=True) if rows else ((), (), ())
    cols = {
        "photo_id": pa.array(ids, pa.int64()),
        "rover": pa.array(rovers, pa.string()),
        "sol": pa.array(sols, pa.int64()),
    }
    return pa.table({**cols, **{k: pa.array(v) for k, v in extra.items()}})


def meta(run_id: str, partitions: str = "") -> dict[str, str]:
    return {"dagster_run_id": run_id, "dagster_asset_key": TABLE, "dagster_partitions": partitions}


def rows_of(table: pa.Table, *columns: str) -> list[tuple]:
    columns = columns or ("photo_id", "rover", "sol")
    return sorted(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


def read_rows(wh: Warehouse, *columns: str) -> list[tuple]:
    return rows_of(wh.read_table("silver", TABLE), *columns)


def plain_duckdb(wh: Warehouse) -> duckdb.DuckDBPyConnection:
    """DuckDB as a user opens it: the pip-installed delta (and httpfs) extension and, on S3, a
    secret of the user's own making; nothing from the Warehouse's connect()."""
    con = duckdb.connect()
    duckdb_ext.init(con)
    con.execute("LOAD delta")
    if wh.is_s3:
        con.execute("LOAD httpfs")
        s3 = wh.s3
        con.execute(
            f"CREATE SECRET (TYPE s3, KEY_ID {literal(s3.aws_access_key_id)}, "
            f"SECRET {literal(s3.aws_secret_access_key)}, REGION 'us-east-1', "
            f"ENDPOINT {literal(urlsplit(s3.endpoint_url).netloc)}, URL_STYLE 'path', USE_SSL false)"
        )
    return con


def attach(wh: Warehouse) -> duckdb.DuckDBPyConnection:
    con = plain_duckdb(wh)
    con.execute(f"ATTACH {literal(wh.table_uri('silver', TABLE))} AS t (TYPE delta)")
    return con


def stored_files(wh: Warehouse) -> dict[str, int]:
    """Every object under the table folder (path relative to it -> size)."""
    base = wh._p("silver", TABLE)
    infos = wh._fs().get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    return {i.path[len(base) + 1 :]: i.size for i in infos if i.type == pafs.FileType.File}


def data_files(wh: Warehouse) -> dict[str, int]:
    return {p: s for p, s in stored_files(wh).items() if not p.startswith("_delta_log/")}


def version(wh: Warehouse) -> int:
    return wh.open_delta(TABLE).version()


# -- writers in other OS processes -----------------------------------------------------------

#: A writer process: for each job line on stdin it builds the Warehouse, answers "ready",
#: waits for the start line (sent to both writers at once), then writes one commit per
#: (rover, sol, photo_ids) through Warehouse.write_silver_table and answers with what happened.
#: delta-rs's write is wrapped only to count the CommitFailedErrors that write_table retries.
WRITER = r"""
import json, sys, time
import pyarrow as pa
import pyarrow.compute as pc
from dagster_aws.s3 import S3Resource
from deltalake.exceptions import CommitFailedError
from mars_assets.resources import delta_tables
from mars_assets.resources.warehouse import Warehouse

conflicts = []
_write = delta_tables.write_deltalake


def counting_write(*args, **kwargs):
    try:
        return _write(*args, **kwargs)
    except CommitFailedError as exc:
        conflicts.append(str(exc).splitlines()[0])
        raise


delta_tables.write_deltalake = counting_write


def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    job = json.loads(line)
    wh = Warehouse(root=job["root"], s3=S3Resource(**job["s3"]) if job["s3"] else None)
    wh.storage_options()
    del conflicts[:]
    reply({"ready": True})
    sys.stdin.readline()
    out = {"versions": [], "errors": [], "spans": []}
    for i, (rover, sol, ids) in enumerate(job["writes"]):
        data = pa.table({
            "photo_id": pa.array(ids, pa.int64()),
            "rover": pa.array([rover] * len(ids), pa.string()),
            "sol": pa.array([sol] * len(ids), pa.int64()),
        })
        metadata = {
            "dagster_run_id": f"{job['name']}-{i}",
            "dagster_asset_key": "photos",
            "dagster_partitions": f"{rover}|{sol}",
            "writer": job["name"],
        }
        start = time.time()
        try:
            out["versions"].append(wh.write_silver_table("photos", data, [(rover, sol)], metadata).version)
        except Exception as exc:
            out["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        out["spans"].append([start, time.time()])
    out["conflicts"] = list(conflicts)
    reply(out)
"""


class Writer:
    def __init__(self, log: Path):
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float = 600) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        assert line, f"writer process gave no answer (exit {self.proc.poll()}): {self.log.read_text()[-3000:]}"
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def writers(tmp_path_factory):
    """Two writer processes, started once for the module (each imports dagster: seconds)."""
    logs = tmp_path_factory.mktemp("writers")
    pair = [Writer(logs / "a.log"), Writer(logs / "b.log")]
    yield pair
    for w in pair:
        w.close()


def run_concurrently(writers, wh: Warehouse, jobs: dict[str, list]) -> dict[str, dict]:
    """Each writer process performs its list of (rover, sol, photo_ids) writes; both start at
    the same moment, once both have their warehouse ready."""
    s3 = None
    if wh.s3 is not None:
        fields = ("endpoint_url", "region_name", "use_ssl", "aws_access_key_id", "aws_secret_access_key")
        s3 = {f: getattr(wh.s3, f) for f in fields}
    for w, (name, writes) in zip(writers, jobs.items(), strict=True):
        w.send(json.dumps({"root": wh.root, "s3": s3, "name": name, "writes": writes}))
    for w in writers:
        assert w.receive() == {"ready": True}
    for w in writers:
        w.send("go")
    return {name: w.receive() for w, name in zip(writers, jobs, strict=True)}


def overlap(a: dict, b: dict) -> float:
    """Seconds during which both writers were writing."""
    return min(a["spans"][-1][1], b["spans"][-1][1]) - max(a["spans"][0][0], b["spans"][0][0])


# -- 1. two writers, different partitions ----------------------------------------------------


@pytest.mark.parametrize("wh", BOTH_S3_SLOW, indirect=True)
def test_two_processes_replacing_different_partitions_commit_every_write(wh, writers):
    """Writer A replaces the even sols 0..98 of curiosity, writer B the odd sols 1..99, one commit
    per partition, at the same time, in the same rover folder. Every one of the 100 commits is in
    the history with its own writer's metadata, and the rows are exactly the expected ones.
    The table exists before they start: two first commits at once trip has_table (see
    test_the_data_file_of_an_uncommitted_first_write_is_not_taken_for_the_old_layout)."""
    wh.write_silver_table(TABLE, photos([(900_000, "spirit", 0)]), [("spirit", 0)], meta("seed", "spirit|0"))
    jobs = {
        name: [("curiosity", sol, [sol * 10 + j for j in range(3)]) for sol in range(first, 100, 2)]
        for name, first in (("A", 0), ("B", 1))
    }
    results = run_concurrently(writers, wh, jobs)

    for name, result in results.items():
        assert result["errors"] == [], name
        assert len(result["versions"]) == 50, name
    assert overlap(results["A"], results["B"]) > 0

    raw = wh.open_delta(TABLE).history()
    assert len(raw) == 101
    assert collections.Counter(h.get("writer") for h in raw) == {"A": 50, "B": 50, None: 1}
    history = delta_tables.history(wh.open_delta(TABLE))
    expected = {"seed": "spirit|0"} | {
        f"{name}-{i}": f"{rover}|{sol}" for name, writes in jobs.items() for i, (rover, sol, _) in enumerate(writes)
    }
    assert {h["dagster_run_id"]: h["dagster_partitions"] for h in history} == expected
    assert {h["operation"] for h in history} == {"WRITE"}

    want = [(900_000, "spirit", 0)] + [(sol * 10 + j, "curiosity", sol) for sol in range(100) for j in range(3)]
    assert read_rows(wh) == sorted(want)  # no duplicates, no loss


# -- 2. two writers, the same partition ------------------------------------------------------


@pytest.mark.parametrize("wh", BOTH_S3_SLOW, indirect=True)
def test_two_processes_replacing_the_same_partition_leave_one_writers_rows(wh, writers):
    """Both writers replace curiosity sol 7 again and again (A with photos 1..5, B with 101..105).
    Every version of the table holds exactly one writer's rows for sol 7 (never a mix), the last
    version those of the writer of the last commit; every write that returned is a commit of its
    writer; the neighbouring sol 8 is untouched.

    write_table retries a commit that lost to the other writer (COMMIT_ATTEMPTS), and no write
    should fail; one that still raises CommitFailedError marks this test XFAIL with the count,
    after every check above has passed (in about half of the local runs one of the 40 writes
    loses four times in a row: see the report of this test file)."""
    repeats = 20 if not wh.is_s3 else 10
    neighbour = [(800, "curiosity", 8), (801, "curiosity", 8)]
    wh.write_silver_table(
        TABLE,
        photos([(0, "curiosity", 7), *neighbour]),
        [("curiosity", 7), ("curiosity", 8)],
        meta("seed", "curiosity|7-8"),
    )
    sets = {"A": list(range(1, 6)), "B": list(range(101, 106))}
    results = run_concurrently(writers, wh, {n: [("curiosity", 7, ids)] * repeats for n, ids in sets.items()})

    conflicts = {n: len(r["conflicts"]) for n, r in results.items()}
    failed = {n: r["errors"] for n, r in results.items() if r["errors"]}
    print(f"conflicting commits retried by write_table: {conflicts}; failed writes: {failed}")
    for name, result in results.items():
        assert all(e.startswith("CommitFailedError: ") for e in result["errors"]), result["errors"]
        assert len(result["versions"]) + len(result["errors"]) == repeats, name
    assert overlap(results["A"], results["B"]) > 0

    raw = wh.open_delta(TABLE).history()
    committed = {n: len(r["versions"]) for n, r in results.items()}
    assert collections.Counter(h.get("writer") for h in raw) == {**committed, None: 1}
    last_writer = raw[0]["writer"]
    by_set = {tuple(ids): name for name, ids in sets.items()}
    final = wh.read_table("silver", TABLE)
    assert rows_of(final.filter(pc.equal(final["sol"], 8))) == neighbour
    sol7 = tuple(sorted(final.filter(pc.equal(final["sol"], 7))["photo_id"].to_pylist()))
    assert by_set.get(sol7) == last_writer, (sol7, conflicts)

    con = attach(wh)
    for v in range(1, sum(committed.values()) + 1):
        ids = tuple(
            r[0] for r in con.sql(f"select photo_id from t AT (VERSION => {v}) where sol = 7 order by 1").fetchall()
        )
        assert ids in by_set, (v, ids)

    assert not failed, (
        f"{sum(map(len, failed.values()))} of {2 * repeats} writes raised CommitFailedError after "
        f"write_table's {delta_tables.COMMIT_ATTEMPTS} attempts ({conflicts} conflicts retried)"
    )


def test_the_commit_a_write_returns_is_its_own_when_another_writer_commits_right_after(tmp_path, monkeypatch):
    """The race of two writers made deterministic: another writer's commit lands right after this
    write's commit, before write_table looks at the table again."""
    wh = Warehouse(root=str(tmp_path / "wh"))
    wh.write_silver_table(TABLE, photos([(1, "spirit", 1)]), [("spirit", 1)], meta("r0"))
    real_write = delta_tables.write_deltalake

    def write_then_another_writer(table, data, **kwargs):
        real_write(table, data, **kwargs)
        other = {**kwargs, "predicate": "rover = 'spirit' AND sol = 2"}  # through its own table object
        real_write(DeltaTable(wh.table_uri("silver", TABLE)), photos([(i, "spirit", 2) for i in range(5)]), **other)

    monkeypatch.setattr(delta_tables, "write_deltalake", write_then_another_writer)
    commit = wh.write_silver_table(
        TABLE, photos([(7, "curiosity", 3), (8, "curiosity", 3)]), [("curiosity", 3)], meta("r1")
    )
    assert version(wh) == 2  # ours is version 1, the other writer's version 2
    assert (commit.version, commit.rows) == (1, 2)


# -- 3. predicate replace --------------------------------------------------------------------


@pytest.mark.parametrize("wh", BOTH, indirect=True)
def test_replacing_partitions_keeps_other_sols_refuses_rows_outside_and_is_idempotent(wh):
    first = [(1, "curiosity", 1), (2, "curiosity", 2), (3, "curiosity", 2), (4, "curiosity", 3), (5, "spirit", 2)]
    wh.write_silver_table(
        TABLE, photos(first), [("curiosity", 1), ("curiosity", 2), ("curiosity", 3), ("spirit", 2)], meta("r1")
    )

    replacement = photos([(20, "curiosity", 2), (21, "curiosity", 2)])
    commit = wh.write_silver_table(TABLE, replacement, [("curiosity", 2)], meta("r2"))
    assert commit.version == 1 and commit.rows == 2
    after = [(1, "curiosity", 1), (4, "curiosity", 3), (5, "spirit", 2), (20, "curiosity", 2), (21, "curiosity", 2)]
    assert read_rows(wh) == sorted(after)

    # a row of another sol, and a row of the same sol of another rover: outside the predicate
    for stray in [(30, "curiosity", 5), (31, "spirit", 2)]:
        with pytest.raises(DeltaError, match="failed validation"):
            wh.write_silver_table(TABLE, photos([(22, "curiosity", 2), stray]), [("curiosity", 2)], meta("bad"))
        assert version(wh) == 1
        assert read_rows(wh) == sorted(after)
    assert "bad" not in {h["dagster_run_id"] for h in delta_tables.history(wh.open_delta(TABLE))}

    for expected_version in (2, 3):  # a rerun replaces the partition with the same rows again
        assert wh.write_silver_table(TABLE, replacement, [("curiosity", 2)], meta("r3")).version == expected_version
        assert read_rows(wh) == sorted(after)


# -- 4. time travel --------------------------------------------------------------------------


@pytest.mark.parametrize("wh", BOTH, indirect=True)
def test_previous_versions_read_back_with_plain_duckdb_and_open_delta(wh):
    v0 = [(1, "curiosity", 1, "MAST"), (2, "curiosity", 1, "MAST"), (3, "curiosity", 1, "NAVCAM")]
    other = [(9, "curiosity", 2, "FHAZ")]
    v1 = [(1, "curiosity", 1, "MAST"), (2, "curiosity", 1, "CHEMCAM"), (4, "curiosity", 1, "NAVCAM")]

    def table(rows):
        return photos([r[:3] for r in rows], camera=[r[3] for r in rows])

    wh.write_silver_table(TABLE, table(v0 + other), [("curiosity", 1), ("curiosity", 2)], meta("run-1", "c|1-2"))
    assert wh.write_silver_table(TABLE, table(v1), [("curiosity", 1)], meta("run-2", "c|1")).version == 1

    cols = ("photo_id", "rover", "sol", "camera")
    con = attach(wh)
    assert con.sql(f"select {', '.join(cols)} from t AT (VERSION => 0) order by all").fetchall() == sorted(v0 + other)
    assert con.sql(f"select {', '.join(cols)} from t AT (VERSION => 1) order by all").fetchall() == sorted(v1 + other)
    assert con.sql(f"select {', '.join(cols)} from t order by all").fetchall() == sorted(v1 + other)
    assert rows_of(wh.open_delta(TABLE, 0).to_pyarrow_table(), *cols) == sorted(v0 + other)
    assert rows_of(wh.open_delta(TABLE, 1).to_pyarrow_table(), *cols) == sorted(v1 + other)
    assert read_rows(wh, *cols) == sorted(v1 + other)

    history = {h["version"]: h for h in delta_tables.history(wh.open_delta(TABLE))}
    assert {v: h["dagster_run_id"] for v, h in history.items()} == {0: "run-1", 1: "run-2"}
    assert {v: h["dagster_partitions"] for v, h in history.items()} == {0: "c|1-2", 1: "c|1"}
    assert {h["dagster_asset_key"] for h in history.values()} == {TABLE}
    assert (history[1]["rows_added"], history[1]["files_removed"]) == (3, 1)


# -- 5. schema evolution ---------------------------------------------------------------------


@pytest.mark.parametrize("wh", BOTH, indirect=True)
def test_a_new_column_is_merged_and_the_version_before_it_keeps_the_old_columns(wh):
    wh.write_silver_table(TABLE, photos([(1, "curiosity", 1), (2, "curiosity", 1)]), [("curiosity", 1)], meta("r1"))
    wide = photos([(3, "curiosity", 2)], camera=["MAST"])
    assert wh.write_silver_table(TABLE, wide, [("curiosity", 2)], meta("r2")).version == 1

    assert read_rows(wh, "photo_id", "camera") == [(1, None), (2, None), (3, "MAST")]
    con = attach(wh)
    assert set(con.sql("select * from t AT (VERSION => 0)").columns) == {"photo_id", "rover", "sol"}
    assert con.sql("select photo_id from t AT (VERSION => 0) order by 1").fetchall() == [(1,), (2,)]
    assert set(con.sql("select * from t AT (VERSION => 1)").columns) == {"photo_id", "rover", "sol", "camera"}
    assert set(wh.open_delta(TABLE, 0).to_pyarrow_table().column_names) == {"photo_id", "rover", "sol"}


def test_a_changed_column_type_is_refused_naming_overwrite_schema(tmp_path):
    wh = Warehouse(root=str(tmp_path / "wh"))
    wh.write_silver_table(TABLE, photos([(1, "curiosity", 1)]), [("curiosity", 1)], meta("r1"))
    stringly = pa.table({"photo_id": ["1"], "rover": ["curiosity"], "sol": pa.array([1], pa.int64())})
    with pytest.raises(SchemaChangeError, match=r"photo_id .*overwrite-schema silver\.photos") as err:
        wh.write_silver_table(TABLE, stringly, [("curiosity", 1)], meta("r2"))
    assert "\n" not in str(err.value)
    assert version(wh) == 0
    assert read_rows(wh) == [(1, "curiosity", 1)]


def test_overwrite_schema_rewrites_the_table_in_one_commit_and_the_old_version_keeps_its_types(tmp_path):
    wh = Warehouse(root=str(tmp_path / "it's a warehouse"))
    wh.write_silver_table(
        TABLE, photos([(1, "curiosity", 1), (2, "spirit", 3)]), [("curiosity", 1), ("spirit", 3)], meta("r1")
    )
    new = pa.schema([("photo_id", pa.string()), ("rover", pa.string()), ("sol", pa.int64())])
    commit = delta_tables.overwrite_schema(
        wh.table_uri("silver", TABLE), new, name=TABLE, storage_options=wh.storage_options(), commit_metadata=meta("r2")
    )
    assert commit.version == 1
    assert wh.open_delta(TABLE, 1).to_pyarrow_table().schema.field("photo_id").type == pa.string()
    assert read_rows(wh) == [("1", "curiosity", 1), ("2", "spirit", 3)]
    assert wh.open_delta(TABLE, 0).to_pyarrow_table().schema.field("photo_id").type == pa.int64()
    con = attach(wh)
    assert con.sql("select distinct typeof(photo_id) from t AT (VERSION => 0)").fetchall() == [("BIGINT",)]
    assert con.sql("select distinct typeof(photo_id) from t").fetchall() == [("VARCHAR",)]
    assert delta_tables.history(wh.open_delta(TABLE), 1)[0]["dagster_run_id"] == "r2"
    stringly = pa.table({"photo_id": ["x"], "rover": ["curiosity"], "sol": pa.array([2], pa.int64())})
    assert wh.write_silver_table(TABLE, stringly, [("curiosity", 2)], meta("r3")).version == 2


# -- 6. the pre-Delta layout -----------------------------------------------------------------


@pytest.mark.parametrize("wh", BOTH, indirect=True)
def test_a_folder_of_the_old_layout_is_refused_naming_mars_assets_migrate(wh):
    old = pa.table({"photo_id": [1, 2], "camera": ["MAST", "NAVCAM"]})
    if wh.is_s3:
        sink = pa.BufferOutputStream()
        pq.write_table(old, sink)
        wh.write_objects("silver/photos/rover=curiosity/sol=1", {"part-0.parquet": sink.getvalue().to_pybytes()})
    else:
        folder = Path(wh.path("silver", TABLE, "rover=curiosity", "sol=1"))
        folder.mkdir(parents=True)
        pq.write_table(old, folder / "part-0.parquet")

    calls = {
        "has_table": lambda: wh.has_table("silver", TABLE),
        "read_table": lambda: wh.read_table("silver", TABLE),
        "open_delta": lambda: wh.open_delta(TABLE),
        "write_silver_table": lambda: wh.write_silver_table(
            TABLE, photos([(3, "curiosity", 2)]), [("curiosity", 2)], meta("r1")
        ),
    }
    for name, call in calls.items():
        with pytest.raises(TableLayoutError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message, name
        assert "`mars-assets migrate`" in message and wh.table_uri("silver", TABLE) in message, name
    assert wh.list_objects("silver/photos") == ["rover=curiosity/sol=1/part-0.parquet"]  # nothing written


def test_the_data_file_of_an_uncommitted_first_write_is_not_taken_for_the_old_layout(tmp_path):
    scratch = Warehouse(root=str(tmp_path / "scratch"))
    scratch.write_silver_table(TABLE, photos([(1, "curiosity", 1)]), [("curiosity", 1)], meta("r0"))
    [data_file] = Path(scratch.table_uri("silver", TABLE)).glob("rover=curiosity/part-*.parquet")
    wh = Warehouse(root=str(tmp_path / "wh"))
    folder = Path(wh.table_uri("silver", TABLE)) / "rover=curiosity"
    folder.mkdir(parents=True)
    shutil.copy(data_file, folder / data_file.name)  # what delta-rs has written before its first commit

    assert wh.has_table("silver", TABLE) is False
    assert wh.write_silver_table(TABLE, photos([(2, "spirit", 1)]), [("spirit", 1)], meta("r1")).version == 0
    assert read_rows(wh) == [(2, "spirit", 1)]


# -- 7. maintenance --------------------------------------------------------------------------


@pytest.mark.parametrize("wh", BOTH, indirect=True)
def test_maintain_compacts_small_files_and_vacuums_the_replaced_ones(wh):
    for sol in range(10):
        wh.write_silver_table(TABLE, photos([(sol, "curiosity", sol)]), [("curiosity", sol)], meta(f"w{sol}"))
    for sol in (0, 1):  # replaced: their first files are tombstones now
        wh.write_silver_table(TABLE, photos([(100 + sol, "curiosity", sol)]), [("curiosity", sol)], meta(f"r{sol}"))
    rows = read_rows(wh)
    files_before, _ = delta_tables.table_files(wh.open_delta(TABLE))
    on_disk = data_files(wh)
    assert (files_before, len(on_disk)) == (10, 12)

    uri = wh.table_uri("silver", TABLE)
    fs = wh._fs()
    result = delta_tables.maintain(
        uri,
        wh.storage_options(),
        retention_hours=0,
        sizes=lambda path: fs.get_file_info(wh._p("silver", TABLE, path)).size,
    )

    assert read_rows(wh) == rows
    assert result.files_compacted == 10 and result.files_written == 1
    assert (result.files, result.version) == (1, version(wh))
    left = data_files(wh)
    current = pa.table(wh.open_delta(TABLE).get_add_actions(flatten=True)).column("path").to_pylist()
    assert sorted(left) == sorted(current) and len(left) == 1  # only the compacted file is stored
    gone = {p: s for p, s in on_disk.items() if p not in left}
    assert result.files_vacuumed == len(gone) == 12
    assert result.bytes_vacuumed == sum(gone.values()) > 0
    assert result.bytes == sum(left.values())


def test_maintain_with_the_default_retention_keeps_old_versions_readable(tmp_path):
    wh = Warehouse(root=str(tmp_path / "wh"))
    for ids in ([1, 2], [3]):
        wh.write_silver_table(TABLE, photos([(i, "curiosity", 1) for i in ids]), [("curiosity", 1)], meta("w"))
    result = delta_tables.maintain(wh.table_uri("silver", TABLE), {})
    assert (result.files_vacuumed, result.bytes_vacuumed) == (0, 0)
    assert rows_of(wh.open_delta(TABLE, 0).to_pyarrow_table()) == [(1, "curiosity", 1), (2, "curiosity", 1)]
    assert delta_tables.maintain(str(tmp_path / "wh" / "silver" / "nothing"), {}) is None


def test_a_second_maintain_finds_nothing_left_to_vacuum(tmp_path):
    wh = Warehouse(root=str(tmp_path / "wh"))
    for ids in ([1, 2], [3], [4]):
        wh.write_silver_table(TABLE, photos([(i, "curiosity", 1) for i in ids]), [("curiosity", 1)], meta("w"))
    uri = wh.table_uri("silver", TABLE)

    def sizes(path):
        full = os.path.join(uri, path)
        return os.path.getsize(full) if os.path.exists(full) else None

    assert delta_tables.maintain(uri, {}, retention_hours=0, sizes=sizes).files_vacuumed == 2  # replaced files
    again = delta_tables.maintain(uri, {}, retention_hours=0, sizes=sizes)
    assert (again.files_vacuumed, again.bytes_vacuumed) == (0, 0)


# -- 8. secrets ------------------------------------------------------------------------------


def test_the_s3_secret_key_is_in_no_commit_log_or_object_of_the_table(s3_env):
    wh = Settings(
        warehouse=f"s3://{s3_env['bucket']}/secrets", s3_endpoint=s3_env["MARS_S3_ENDPOINT"], s3_region="us-east-1"
    ).warehouse_resource(resolved=True)
    assert wh.storage_options()["AWS_SECRET_ACCESS_KEY"] == S3_SECRET  # the value really is in use
    texts = []
    for sol in range(3):
        commit = wh.write_silver_table(TABLE, photos([(sol, "curiosity", sol)]), [("curiosity", sol)], meta(f"w{sol}"))
        texts.append(repr(commit))
    wh.write_silver_table(TABLE, photos([(9, "curiosity", 0)], camera=["MAST"]), [("curiosity", 0)], meta("w9"))
    with pytest.raises(DeltaError) as refused:
        wh.write_silver_table(TABLE, photos([(10, "curiosity", 5)]), [("curiosity", 0)], meta("bad"))
    texts.append(str(refused.value))
    texts.append(repr(delta_tables.maintain(wh.table_uri("silver", TABLE), wh.storage_options(), retention_hours=0)))
    table = wh.open_delta(TABLE)
    texts.append(json.dumps(table.history(), default=str))
    texts.append(json.dumps(delta_tables.history(table), default=str))
    texts.append(json.dumps(table.metadata().configuration))
    assert not [t for t in texts if S3_SECRET in t]

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_env["MARS_S3_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=s3_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_SECRET,
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_env["bucket"])["Contents"]]
    log = [k for k in keys if "/_delta_log/" in k]
    assert any(k.endswith(".json") for k in log) and any(k.endswith(".checkpoint.parquet") for k in log)
    leaking = [k for k in keys if S3_SECRET.encode() in s3.get_object(Bucket=s3_env["bucket"], Key=k)["Body"].read()]
    assert leaking == []
