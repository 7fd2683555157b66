"""The same pipeline against a real S3 endpoint on loopback (moto's server)."""

import io
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import dagster as dg
import duckdb
import pyarrow as pa
import pytest
from PIL import Image

from mars_assets.cli import run_demo
from mars_assets.resources.s3 import load_extensions
from mars_assets.resources.warehouse import Warehouse, WarehouseAccessError
from mars_assets.settings import Settings
from mars_assets_tests.conftest import S3_KEY_ID, S3_SECRET, open_catalog
from mars_assets_tests.test_secrets import SCANNED, files_with, instance_text, needles, new_key, text_hits

ROOT = Path(__file__).resolve().parent.parent


def s3_client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )


def warehouse(s3_env, prefix="wh") -> Warehouse:
    return (
        Settings.from_env()
        .__class__(**{**Settings.from_env().__dict__, "warehouse": f"s3://{s3_env['bucket']}/{prefix}"})
        .warehouse_resource(resolved=True)
    )


def counts(con) -> dict:
    views = [
        v for (v,) in con.sql("select schema_name||'.'||view_name from duckdb_views() where not internal").fetchall()
    ]
    return {v: con.sql(f"select count(*) from {v}").fetchone()[0] for v in views}


@pytest.mark.slow
def test_demo_on_s3_equals_the_local_run_and_leaves_no_secret(
    s3_env, small_archive, tmp_path, monkeypatch, capfd, caplog, seen_keys
):
    """The demo locally, then on the loopback S3 (moto) with a recognisable NASA key: the same
    row counts; the bucket, the local catalog, the instance and every log hold neither the key
    nor the S3 secret access key (one S3 demo serves both checks)."""
    secret = new_key()
    SCANNED.update(files=0, bytes=0)
    monkeypatch.setenv("NASA_API_KEY", secret)
    local = tmp_path / "local"
    monkeypatch.delenv("MARS_CATALOG")  # the local run keeps its catalog in its root
    assert run_demo(small_archive, str(local), local / "landing", str(tmp_path / "h1"), out=io.StringIO()) == 0
    con = open_catalog(str(local / "warehouse.duckdb"))
    local_counts = counts(con)
    con.close()

    monkeypatch.setenv("MARS_CATALOG", s3_env["MARS_CATALOG"])
    caplog.set_level(logging.DEBUG)
    capfd.readouterr()
    out = io.StringIO()
    root, home = f"s3://{s3_env['bucket']}/demo", tmp_path / "h2"
    assert run_demo(small_archive, root, tmp_path / "landing", str(home), out=out) == 0, out.getvalue()
    client = s3_client(s3_env["MARS_S3_ENDPOINT"])
    keys = [
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3_env["bucket"], Prefix="demo/")
        for o in page.get("Contents", [])
    ]
    assert "demo/silver/photos/_delta_log/00000000000000000000.json" in keys
    assert any(re.match(r"demo/silver/photos/rover=curiosity/[^/]+\.parquet$", k) for k in keys)
    for table in (
        "silver/images",
        "silver/image_stats",
        "silver/image_quality",
        "silver/waypoints",
        "gold/photo_gaps",
        "gold/image_quality_daily",
        "bronze/photos",
    ):
        assert any(k.startswith(f"demo/{table}/") for k in keys), table
    # the timelapse of the small snapshot's two Mastcam frames, and its page, in the bucket
    timelapse = {"demo/dashboards/timelapse/index.html", "demo/dashboards/timelapse/curiosity/MAST.webp"}
    assert timelapse <= set(keys)
    webp = client.get_object(Bucket=s3_env["bucket"], Key="demo/dashboards/timelapse/curiosity/MAST.webp")
    assert Image.open(io.BytesIO(webp["Body"].read())).n_frames == 2
    assert not any(Path(k).name.startswith(".") for k in keys)  # no in-flight objects left
    wh = warehouse(s3_env, "demo")
    con = wh.open_catalog()
    assert counts(con) == local_counts
    con.close()

    assert secret in seen_keys  # the key was really sent
    objects = {k: client.get_object(Bucket=s3_env["bucket"], Key=k)["Body"].read() for k in keys}
    captured = capfd.readouterr()
    logs = out.getvalue() + captured.out + captured.err + caplog.text
    with dg.DagsterInstance.from_config(str(home)) as instance:
        recorded = instance_text(instance)
    assert "api_key" not in recorded and S3_SECRET not in recorded
    for value in (secret, S3_SECRET):
        assert [k for k, data in objects.items() if any(n in data for n in needles(value))] == [], value[:6]
        assert files_with(value, home, Path(s3_env["MARS_CATALOG"]).parent, tmp_path / "landing") == []
        assert not text_hits(value, logs) and not text_hits(value, recorded)
    print(
        f"FIGURES secrets-s3: key sent on {len(seen_keys)} requests; scanned {len(objects)} bucket objects "
        f"({sum(map(len, objects.values())):,} bytes), {SCANNED['files']} local files, {len(recorded):,} "
        f"characters of runs and events, {len(logs):,} characters of logs, for 2 secrets: 0 hits"
    )


def photos(rows: list[tuple[str, int, int]]) -> pa.Table:
    return pa.table({k: [r[i] for r in rows] for i, k in enumerate(("rover", "sol", "photo_id"))})


def test_plain_duckdb_with_an_s3_secret_reads_the_photos(s3_env):
    wh = warehouse(s3_env)
    wh.write_silver_table("photos", photos([("curiosity", 1, i) for i in range(3)]), [("curiosity", 1)], {})
    wh.write_silver_table("photos", photos([("spirit", 2, 9)]), [("spirit", 2)], {})
    con = duckdb.connect()
    load_extensions(con, s3=True)  # the pip-installed extensions: this machine has no route to DuckDB's site
    host = s3_env["MARS_S3_ENDPOINT"].split("//")[1]
    con.execute(
        f"CREATE SECRET (TYPE s3, KEY_ID '{S3_KEY_ID}', SECRET '{S3_SECRET}', REGION 'us-east-1', "
        f"ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false)"
    )
    uri = f"s3://{s3_env['bucket']}/wh/silver/photos"
    rows = con.sql(f"select rover, sol, count(*) from delta_scan('{uri}') group by all order by all").fetchall()
    assert rows == [("curiosity", 1, 3), ("spirit", 2, 1)]
    con.execute(f"ATTACH '{uri}' AS photos (TYPE delta)")
    assert con.sql("select count(*) from photos AT (VERSION => 0)").fetchone() == (3,)  # time travel, plain DuckDB


def test_rerun_of_an_s3_partition_leaves_one_copy(s3_env):
    wh = warehouse(s3_env)
    for n in (5, 5, 3):
        wh.write_silver_table("photos", photos([("curiosity", 7, i) for i in range(n)]), [("curiosity", 7)], {})
    assert wh.read_table("silver", "photos").num_rows == 3
    assert wh.open_delta("photos").version() == 2


def test_reading_an_object_takes_one_get(s3_env, s3_request_log):
    """pyarrow's input stream would fetch a 3 MiB object in 12 ranged GETs of 256 KiB (a round
    trip each on real S3); read_object asks once. Requests counted from moto's server log."""
    wh = warehouse(s3_env, "reads")
    data = os.urandom(3 << 20)
    wh.write_objects("bronze/images/rover=curiosity/sol=1", {"big.png": data})
    start = s3_request_log.stat().st_size
    assert wh.read_object("bronze/images/rover=curiosity/sol=1/big.png") == data
    path = f"/{s3_env['bucket']}/reads/bronze/images/rover=curiosity/sol=1/big.png"
    deadline = time.monotonic() + 10
    while True:  # the server writes its log line after it answers
        with s3_request_log.open("rb") as f:
            f.seek(start)
            lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in f.read().decode(errors="replace").splitlines()]
        requests = [m for m in (re.search(r'"(\w+) (\S+) HTTP', line) for line in lines) if m and m[2] == path]
        if len(requests) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [m[1] for m in requests] == ["HEAD", "GET"]


def test_s3_filesystem_and_its_connections_are_reused(s3_env):
    """One pyarrow S3 filesystem per endpoint and credentials in a process: its connections
    are reused from one object to the next (a new filesystem per call opened a new one)."""
    wh = warehouse(s3_env, "reuse")
    assert wh._fs() is wh._fs() is warehouse(s3_env, "elsewhere")._fs()
    other = wh.model_copy(update={"s3": wh.s3.model_copy(update={"aws_secret_access_key": "another"})})
    assert other._fs() is not wh._fs()


_WRITER = """
import sys, numpy as np, pyarrow as pa
from mars_assets.settings import Settings
import dataclasses
s = dataclasses.replace(Settings.from_env(), warehouse=sys.argv[1])
wh = s.warehouse_resource(resolved=True)
n = 12_000_000
big = pa.table({"rover": ["curiosity"] * n, "sol": np.full(n, 7), "photo_id": np.arange(n),
                "x": np.random.default_rng(0).random(n)})
print("writing", flush=True)
wh.write_silver_table("photos", big, [("curiosity", 7)], {})
print("done", flush=True)
"""


def test_killed_partition_write_leaves_the_previous_partition_visible(s3_env):
    root = f"s3://{s3_env['bucket']}/crash"
    wh = warehouse(s3_env, "crash")
    wh.write_silver_table("photos", photos([("curiosity", 7, i) for i in range(4)]), [("curiosity", 7)], {})
    client = s3_client(s3_env["MARS_S3_ENDPOINT"])
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, root], cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if client.list_multipart_uploads(Bucket=s3_env["bucket"]).get("Uploads"):
                break  # the new partition object is being uploaded right now
            time.sleep(0.05)
        assert proc.poll() is None, "the writer finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wh.read_table("silver", "photos").num_rows == 4
    with wh.connect() as con:
        assert con.sql(f"select count(*) from {wh.relation_sql('silver', 'photos')}").fetchone() == (4,)


def test_missing_bucket_is_a_one_line_error(s3_env):
    wh = warehouse({**s3_env, "bucket": "no-such-bucket"})
    with pytest.raises(
        WarehouseAccessError, match=r"^S3 bucket 'no-such-bucket' does not exist at http://127\.0\.0\.1"
    ):
        wh.check_access()


def test_unreachable_endpoint_is_a_one_line_error(s3_env, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv("MARS_S3_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(WarehouseAccessError, match=rf"^S3 endpoint http://127\.0\.0\.1:{port} is unreachable$"):
        warehouse(s3_env).check_access()


def test_bad_credentials_are_a_one_line_error_from_the_cli(tmp_path):
    """A moto server that enforces IAM authentication from its first request."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        env = {
            **os.environ,
            "MARS_S3_ENDPOINT": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG0",
            "AWS_SECRET_ACCESS_KEY": "wrong-secret-never-printed-0123456789",
            "AWS_REGION": "us-east-1",
        }
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "mars_assets.cli",
                "demo",
                "--warehouse",
                "s3://bucket/x",
                "--dagster-home",
                str(tmp_path / "h"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.kill()
        server.wait()
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mars-assets: S3 credentials were rejected for bucket 'bucket'")
    assert "wrong-secret-never-printed" not in r.stdout + r.stderr


def test_no_credentials_is_a_one_line_error(s3_env, monkeypatch, tmp_path):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(WarehouseAccessError, match="^no S3 credentials"):
        warehouse(s3_env).check_access()
