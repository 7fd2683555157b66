"""The code location loads as Dagster tools load it, and the UI starts on loopback."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mars_assets.definitions import defs

ROOT = Path(__file__).resolve().parent.parent


def test_every_layer_has_assets_and_checks():
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"bronze/photos", "bronze/images", "silver/photos", "silver/image_stats", "gold/mission_summary",
            "catalog/warehouse_duckdb", "dashboards/mission_dashboard"} <= keys
    checks = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert {"matches_manifest", "statistics_in_range"} <= checks


def test_dagster_definitions_validate_passes_on_workspace_yaml():
    r = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Validation successful" in r.stdout + r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _default_signals():
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


@pytest.mark.slow
def test_ui_starts_on_loopback(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "MARS_WAREHOUSE": str(tmp_path / "warehouse")}
    proc = subprocess.Popen([sys.executable, "-m", "mars_assets.cli", "ui", "--port", str(port),
                             "--dagster-home", str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_default_signals)
    try:
        deadline, body = time.monotonic() + 180, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(1)
        assert body and "dagster_webserver_version" in body, proc.stdout.read1().decode() if proc.poll() is not None else "timeout"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
