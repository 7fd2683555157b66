"""Secrets (issue 9): run the pipeline with a recognisable NASA API key (and, on the
loopback S3, a recognisable S3 secret) and scan everything it leaves behind — console and
Python logs, run config and tags, every event of every run (errors and their causes
included), bronze objects, Parquet, the DuckDB catalog, the dashboard, the Dagster
instance's files, dbt's logs — for the secret: zero hits.

The key is sent (the replay server sees it on every v1 request) and errors are provoked
on purpose: urllib3's "Max retries exceeded with url: ...?api_key=..." is the message
most likely to carry it.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from mars_assets.definitions import build_definitions
from mars_assets.demo import ReplayServer
from mars_assets.partitions import add_sols, rover_sol_key
from mars_assets.resources import UpstreamSources
from mars_assets.settings import Settings
from mars_assets.sources.http import ApiError
from mars_assets.sources.photos_api import PhotosApiSource

ROOT = Path(__file__).resolve().parent.parent


def new_key() -> str:
    """A recognisable api.data.gov-like key: letters and digits only, so it is the same text
    in URLs, JSON, logs and Parquet."""
    return "MarsLeakCanary" + uuid.uuid4().hex + uuid.uuid4().hex[:12]


def needles(secret: str) -> list[bytes]:
    """The secret and pieces of it long enough to be unmistakable (a message cut mid-key)."""
    return [secret.encode(), secret[:20].encode(), secret[-20:].encode()]


SCANNED = {"files": 0, "bytes": 0}


def files_with(secret: str, *roots: Path) -> list[str]:
    """Every file below ``roots`` whose bytes contain the secret (or a 20-character piece of it)."""
    hits = []
    for root in roots:
        for f in (p for p in Path(root).rglob("*") if p.is_file()):
            data = f.read_bytes()
            SCANNED["files"] += 1
            SCANNED["bytes"] += len(data)
            if any(n in data for n in needles(secret)):
                hits.append(str(f))
    return hits


def text_hits(secret: str, text: str) -> bool:
    """Whether ``text`` holds the secret or a 20-character piece of it."""
    return any(n.decode() in text for n in needles(secret))


def instance_text(instance: dg.DagsterInstance) -> str:
    """Run config, tags and every event (messages, errors with causes, metadata) of every run."""
    parts = []
    for run in instance.get_runs():
        parts.append(serialize_value(run))
        parts += [serialize_value(entry) for entry in instance.all_logs(run.run_id)]
    return "\n".join(parts)


def test_exhausted_retries_put_no_key_in_the_error_its_causes_or_the_logs(replay, caplog):
    secret = new_key()
    caplog.set_level(logging.DEBUG)
    replay.reset_next(10)
    client = PhotosApiSource(base_url=replay.photos_api_url, api_key=secret, retries=2, backoff_factor=0.01)
    with pytest.raises(ApiError) as err:
        client.fetch_sol("curiosity", 1)
    assert secret in replay.requests[0]  # it was sent
    shown = "".join(traceback.format_exception(err.value)) + repr(err.value) + str(err.value.args)
    assert "Max retries exceeded" in shown and "api_key=REDACTED" in shown  # urllib3's message, key redacted
    assert not text_hits(secret, shown) and not text_hits(secret, caplog.text)
    assert "REDACTED" in caplog.text  # urllib3's retry warnings were logged, redacted


@pytest.mark.slow
def test_pipeline_leaves_the_api_key_nowhere(tmp_path, monkeypatch, capfd, caplog, seen_keys):
    """reference, three partitions (one failing after exhausted retries), gold, catalog and
    dashboard with NASA_API_KEY set; then every trace of the run is scanned."""
    from mars_assets_tests.conftest import make_small_archive

    secret = new_key()
    SCANNED.update(files=0, bytes=0)
    monkeypatch.setenv("NASA_API_KEY", secret)
    caplog.set_level(logging.DEBUG)
    archive = make_small_archive(tmp_path / "archive")
    wh, home = tmp_path / "warehouse", tmp_path / "dagster_home"
    home.mkdir()
    with ReplayServer(archive) as server, dg.instance_for_test(temp_dir=str(home)) as instance:
        settings = Settings(
            warehouse=str(wh), landing=str(wh / "landing"), max_image_downloads=0, image_workers=1
        ).replaying(server)
        assert isinstance(
            settings.resources()["sources"].api_key, dg.EnvVar
        )  # read through dg.EnvVar, as in production
        # production client, test-sized waits: exhausted retries are reached in milliseconds
        sources = UpstreamSources(
            by_rover=dict(settings.sources),
            photos_api_url=server.photos_api_url,
            api_key=dg.EnvVar("NASA_API_KEY"),
            mmgis_url=server.mmgis_url,
            retries=1,
            backoff_factor=0.01,
        )
        defs = build_definitions(settings, resources={"sources": sources})
        assert defs.resolve_job_def("reference_job").execute_in_process(instance=instance).success
        add_sols(instance, [0, 1])
        server.reset_next(100, match="/perseverance/photos?")
        results = {
            key: defs.resolve_job_def("rover_sol_job").execute_in_process(
                instance=instance, partition_key=rover_sol_key(*key), raise_on_error=False
            )
            for key in (("curiosity", 1), ("spirit", 1), ("perseverance", 0))
        }
        assert [k for k, r in results.items() if not r.success] == [("perseverance", 0)]
        assert defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance).success
        recorded = instance_text(instance)
    assert secret in seen_keys and len(seen_keys) > 5  # every v1 request carried it
    assert "Max retries exceeded" in recorded  # the failure and its message are in the event log ...
    assert not text_hits(secret, recorded)  # ... and the key is nowhere in runs or events
    captured = capfd.readouterr()
    assert not text_hits(secret, captured.out + captured.err + caplog.text)
    assert files_with(secret, wh, home) == []
    assert (wh / "bronze/photos/rover=curiosity/sol=1/page-0001.meta.json").exists()
    assert (wh / "warehouse.duckdb").exists() and (wh / "dashboards/mission/index.html").exists()
    dbt_logs = [p for p in (ROOT / "dbt/logs", ROOT / "dbt/target") if p.exists()]
    assert files_with(secret, *dbt_logs) == []
    print(
        f"FIGURES secrets-local: key sent on {len(seen_keys)} requests; scanned {SCANNED['files']} files "
        f"({SCANNED['bytes']:,} bytes), {len(recorded):,} characters of runs and events, "
        f"{len(captured.out + captured.err + caplog.text):,} characters of logs: 0 hits"
    )


# The same scan on `mars-assets demo --warehouse s3://…` is part of the S3 demo test (one S3
# demo for both): test_s3_warehouse.py::test_demo_on_s3_equals_the_local_run_and_leaves_no_secret
