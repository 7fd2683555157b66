"""The code location loads as Dagster tools load it, and the UI starts on loopback."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mars_assets.definitions import build_definitions
from mars_assets_tests.conftest import default_signals, free_port, stop_process_group

ROOT = Path(__file__).resolve().parent.parent


def test_every_layer_has_assets_and_checks():
    defs = build_definitions()
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "bronze/photos",
        "bronze/images",
        "silver/photos",
        "silver/image_stats",
        "gold/mission_summary",
        "catalog/warehouse_duckdb",
        "dashboards/mission",
    } <= keys
    checks = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert {"matches_manifest", "statistics_in_range"} <= checks


def test_dagster_definitions_validate_passes_on_workspace_yaml(tmp_path):
    # an instance of its own: `make test` exports DAGSTER_HOME=./.dagster_home, which exists
    # only once `make demo` has run
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Validation successful" in r.stdout + r.stderr


NO_OWN_WARNINGS = r"""
import pathlib
import warnings

import dagster as dg
import dagster_aws.s3, dagster_dbt, dagster_duckdb, dbt.cli.main, duckdb, pyarrow  # their own import-time warnings

LIFECYCLE = (DeprecationWarning, dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from mars_assets.definitions import build_definitions
    defs = build_definitions()
    defs.get_repository_def().load_all_definitions()
    for job in defs.jobs or []:
        defs.resolve_job_def(job.name)
own = [f"{w.category.__name__} {w.filename}:{w.lineno} {w.message}" for w in caught
       if issubclass(w.category, LIFECYCLE) or "mars_assets" in pathlib.Path(w.filename).parts]
print("\n".join(own) or "none")
"""


def test_project_definitions_raise_no_deprecation_or_beta_warnings():
    """Loading every definition warns about nothing in the project's own code (Dagster
    attributes its deprecation, supersession and beta warnings to the caller's line)."""
    r = subprocess.run([sys.executable, "-c", NO_OWN_WARNINGS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "none", r.stdout


def test_dagster_cli_lists_the_sensors_and_schedules(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    listed = {}
    for kind in ("sensor", "schedule"):
        r = subprocess.run(
            [sys.executable, "-m", "dagster", kind, "list", "-w", "workspace.yaml"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        listed[kind] = r.stdout
    for name in ("new_sol_sensor", "landing_zone_sensor", "photo_gap_sensor", "default_automation_condition_sensor"):
        assert f"Sensor: {name}" in listed["sensor"]
    assert "Schedule: daily_recent_sols" in listed["schedule"]
    assert "Schedule: weekly_gold_rebuild" in listed["schedule"] and "Cron Schedule: 23 14 * * 0" in listed["schedule"]


@pytest.mark.slow
def test_ui_starts_on_loopback(tmp_path):
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "MARS_WAREHOUSE": str(tmp_path / "warehouse")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mars_assets.cli", "ui", "--port", str(port), "--dagster-home", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    try:
        deadline, body = time.monotonic() + 180, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(1)
        assert body and "dagster_webserver_version" in body, (
            proc.stdout.read1().decode() if proc.poll() is not None else "timeout"
        )
    finally:
        stop_process_group(proc, grace=20)
