"""Crash safety (issue 9, on Delta since issue 16): SIGKILL ``mars-assets demo`` in the middle
of its rover × sol runs, check that every file the tables reference is complete, rerun, and
compare the warehouse with one produced by an uninterrupted run: the same rows, no
duplicates. Locally and on the loopback S3 (moto).

The demo runs as a real subprocess (its own session, so the kill reaches its image worker
processes too); the comparison leaves out only the run times (``*_at`` columns and
``ingested_at`` inside quarantined records).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pyarrow.parquet as pq
import pytest

from mars_assets.demo import bundled_snapshot
from mars_assets.resources import Warehouse
from mars_assets.settings import Settings
from mars_assets_tests.conftest import make_small_archive

#: The hidden name of a local bronze write in flight (Warehouse._put): ``.<name>.<uuid4 hex>.tmp``.
IN_FLIGHT = re.compile(r"/\.[^/]+\.[0-9a-f]{32}\.tmp$")


def demo_env(**extra: str) -> dict[str, str]:
    """The demo's environment: hermetic (no downloads from NASA hosts), one image worker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARS_", "AWS_", "NASA_")) and k != "DAGSTER_HOME"}
    return {**env, "MARS_MAX_IMAGE_DOWNLOADS": "0", "MARS_IMAGE_WORKERS": "1", **extra}


def start_demo(archive: Path, warehouse: str, home: Path, log: Path, env: dict[str, str]) -> subprocess.Popen:
    """``mars-assets demo`` as a subprocess in a new session (its own process group), output to ``log``."""
    cmd = [
        sys.executable,
        "-m",
        "mars_assets.cli",
        "demo",
        "--archive",
        str(archive),
        "--warehouse",
        warehouse,
        "--landing",
        str(home.parent / f"{home.name}_landing"),
        "--dagster-home",
        str(home),
    ]
    return subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def run_demo_to_end(archive: Path, warehouse: str, home: Path, env: dict[str, str]) -> str:
    """Run the demo to its end (exit code 0 asserted); returns its output."""
    log = home.parent / f"{home.name}.log"
    proc = start_demo(archive, warehouse, home, log, env)
    assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    return log.read_text()


def kill_mid_run(archive: Path, warehouse: str, home: Path, env: dict[str, str], written) -> int:
    """Start the demo and SIGKILL its whole process group as soon as ``written()`` reports two
    photo partitions; returns how many there were at the kill."""
    log = home.parent / f"{home.name}-killed.log"
    proc = start_demo(archive, warehouse, home, log, env)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            n = written()
            if n >= 2:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            assert proc.poll() is None, "the demo ended before it could be killed:\n" + log.read_text()[-2000:]
            time.sleep(0.05)
        else:
            pytest.fail("no photo partition written in time:\n" + log.read_text()[-2000:])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return n


def table_names(root: Path) -> list[tuple[str, str]]:
    """(layer, table) of every silver and gold table of a local warehouse."""
    return sorted((layer, d.name) for layer in ("silver", "gold") for d in (root / layer).iterdir() if d.is_dir())


def contents(wh: Warehouse, tables: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Each table as a sorted list of its rows (JSON), without the times of the run."""
    out = {}
    for layer, table in tables:
        t = wh.read_table(layer, table)
        keep = [c for c in t.column_names if not c.endswith("_at")]
        rows = []
        for row in t.select(keep).to_pylist():
            if isinstance(row.get("raw"), str):
                row["raw"] = re.sub(r'"ingested_at": "[^"]*"', "", row["raw"])
            rows.append(json.dumps(row, sort_keys=True, default=str))
        out[f"{layer}.{table}"] = sorted(rows)
    return out


def bronze_bodies(root: Path) -> dict[str, bytes]:
    """Bronze objects except the sidecars (which hold fetch times)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in (root / "bronze").rglob("*")
        if p.is_file() and not p.name.endswith(".meta.json") and not p.name.startswith(".")
    }


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """An uninterrupted demo on the small archive plus the Curiosity sol 1000 recording (8 partitions:
    the NRB landed file routes to Curiosity sol 3076 by its spacecraft clock)."""
    tmp = tmp_path_factory.mktemp("crash_baseline")
    archive = make_small_archive(tmp / "archive")
    (archive / "api/photos/curiosity_sol1000.json").write_bytes(
        (bundled_snapshot() / "api/photos/curiosity_sol1000.json").read_bytes()
    )
    root = tmp / "warehouse"
    out = run_demo_to_end(archive, str(root), tmp / "home", demo_env())
    assert "materializing 8 rover × sol partitions" in out
    tables = table_names(root)
    assert ("silver", "photos") in tables and ("gold", "photo_gaps") in tables
    return {
        "archive": archive,
        "root": root,
        "tables": tables,
        "contents": contents(Warehouse(root=str(root)), tables),
        "bronze": bronze_bodies(root),
    }


def photo_commits(log_files) -> int:
    """Commits of silver photos: one per rover × sol partition the demo has written."""
    return sum(1 for name in log_files if re.search(r"silver/photos/_delta_log/\d{20}\.json$", name))


def referenced_files_complete(wh: Warehouse, tables: list[tuple[str, str]]) -> int:
    """Every data file the silver Delta tables reference, and every gold Parquet file, is a
    complete Parquet file (its footer reads); returns how many there are."""
    seen = 0
    for layer, table in tables:
        if layer == "silver" and wh.has_table(layer, table):
            for uri in wh.open_delta(table).file_uris():
                pq.read_metadata(unquote(uri.removeprefix("file://")))
                seen += 1
    return seen


@pytest.mark.slow
def test_killed_local_run_then_rerun_equals_an_uninterrupted_run(baseline, tmp_path):
    root, home = tmp_path / "warehouse", tmp_path / "home"
    env = demo_env()
    killed_at = kill_mid_run(
        baseline["archive"],
        str(root),
        home,
        env,
        lambda: photo_commits(str(p) for p in (root / "silver/photos/_delta_log").glob("*.json")),
    )
    assert 2 <= killed_at < 8
    wh = Warehouse(root=str(root))
    assert referenced_files_complete(wh, [("silver", "photos")]) >= 1  # a sol without photos commits no file
    photos = wh.read_table("silver", "photos")  # readers work on the interrupted warehouse
    assert (
        photos.num_rows
        and len(set(zip(*[photos.column(c).to_pylist() for c in ("rover", "sol", "photo_id")], strict=False)))
        == photos.num_rows
    )
    assert not (root / "warehouse.duckdb").exists()  # killed before the catalog step
    run_demo_to_end(baseline["archive"], str(root), home, env)
    assert contents(wh, baseline["tables"]) == baseline["contents"]
    assert table_names(root) == baseline["tables"]
    assert bronze_bodies(root) == baseline["bronze"]
    assert referenced_files_complete(wh, baseline["tables"]) > 0
    hidden = [str(p) for p in root.rglob(".*") if p.is_file() and not re.search(r"/\.[^/]+\.crc$", str(p))]
    assert len(hidden) <= 1 and all(IN_FLIGHT.search(h) for h in hidden), hidden
    tables = baseline["contents"]
    print(
        f"FIGURES crash-local: killed after {killed_at} of 8 partitions; {len(tables)} tables, "
        f"{sum(map(len, tables.values())):,} rows, {len(baseline['bronze'])} bronze objects equal to the "
        f"uninterrupted run; {len(hidden)} hidden leftover; rows lost 0, duplicated 0"
    )


@pytest.mark.slow
def test_killed_s3_run_then_rerun_equals_an_uninterrupted_run(baseline, s3_env, tmp_path):
    import boto3

    env = demo_env(**{k: v for k, v in s3_env.items() if k != "bucket"})
    prefix = "crash"
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_env["MARS_S3_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=s3_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3_env["AWS_SECRET_ACCESS_KEY"],
    )

    def keys() -> list[str]:
        return [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=s3_env["bucket"], Prefix=f"{prefix}/")
            for o in page.get("Contents", [])
        ]

    def photo_partitions() -> int:
        return photo_commits(keys())

    root, home = f"s3://{s3_env['bucket']}/{prefix}", tmp_path / "home"
    killed_at = kill_mid_run(baseline["archive"], root, home, env, photo_partitions)
    assert 2 <= killed_at < 8
    wh = Settings(
        warehouse=root, s3_endpoint=s3_env["MARS_S3_ENDPOINT"], s3_region="us-east-1", catalog=s3_env["MARS_CATALOG"]
    ).warehouse_resource(resolved=True)
    for uri in wh.open_delta("photos").file_uris():  # every referenced file is complete (footer magic at both ends)
        body = s3.get_object(Bucket=s3_env["bucket"], Key=uri.split("/", 3)[3])["Body"].read()
        assert body[:4] == body[-4:] == b"PAR1", uri
    run_demo_to_end(baseline["archive"], root, home, env)
    assert contents(wh, baseline["tables"]) == baseline["contents"]
    hidden = [k for k in keys() if k.rsplit("/", 1)[1].startswith(".")]
    assert not hidden, hidden  # an S3 object is put whole: nothing is written under a temporary name
    tables = baseline["contents"]
    print(
        f"FIGURES crash-s3: killed after {killed_at} of 8 partitions; {len(tables)} tables, "
        f"{sum(map(len, tables.values())):,} rows equal to the uninterrupted run; {len(hidden)} hidden leftover"
    )


def test_a_killed_writers_uncommitted_file_is_invisible_and_vacuumed(tmp_path):
    import pyarrow as pa

    wh = Warehouse(root=str(tmp_path))
    rows = pa.table({"rover": ["curiosity"] * 2, "sol": [7, 7], "photo_id": [1, 2]})
    wh.write_silver_table("photos", rows, [("curiosity", 7)], {})
    leftover = tmp_path / "silver/photos/rover=curiosity/part-00000-killed-c000.zstd.parquet"
    pq.write_table(rows.drop_columns(["rover"]), leftover)  # data written, commit never made
    two_days_ago = time.time() - 2 * 86400
    os.utime(leftover, (two_days_ago, two_days_ago))
    assert wh.read_table("silver", "photos").num_rows == 2  # readers follow the log only
    done = wh.maintain_silver_table("photos", retention_hours=24)
    assert not leftover.exists() and done.files_vacuumed == 1 and done.bytes_vacuumed > 0
    assert wh.read_table("silver", "photos").num_rows == 2
