"""The dbt manifest is prepared once, whole, when several processes build the gold assets at once,
and never by an import.

This is what ``make test`` does on a fresh clone: every pytest-xdist worker builds the
definitions while ``dbt/target/manifest.json`` does not exist yet. Real processes, real
``dbt parse``; each process counts its own parses.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

from mars_assets.lib.dbt import dbt_project_dir, ensure_manifest

PROCESSES = 3

# Waits until every process has started (a barrier of files), then imports the dbt assets,
# which prepares the manifest; dbt parses are counted by wrapping DbtCliResource.cli.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path

    import dagster_dbt

    ready, n = Path(sys.argv[1]), int(sys.argv[2])
    (ready / str(os.getpid())).touch()
    while len(list(ready.iterdir())) < n:
        time.sleep(0.01)

    cli = dagster_dbt.DbtCliResource.cli

    def counting_cli(self, args, **kwargs):
        if "parse" in args:
            with open(sys.argv[3], "a") as log:
                log.write(f"{os.getpid()}\\n")
        return cli(self, args, **kwargs)

    dagster_dbt.DbtCliResource.cli = counting_cli
    from mars_assets.defs.gold.dbt import gold_assets

    print(len(gold_assets().keys))
    """
)


def copy_of_the_dbt_project(tmp_path):
    """The project's dbt folder without its target, logs and catalog (file times kept)."""
    project = tmp_path / "dbt"
    shutil.copytree(dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    return project


def test_concurrent_imports_parse_once_and_all_read_a_whole_manifest(tmp_path):
    project = copy_of_the_dbt_project(tmp_path)
    ready, parses = tmp_path / "ready", tmp_path / "parses.log"
    ready.mkdir()
    env = {**os.environ, "MARS_DBT_PROJECT_DIR": str(project)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(ready), str(PROCESSES), str(parses)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    results = [child.communicate(timeout=300) for child in children]

    for child, (out, err) in zip(children, results, strict=False):
        assert child.returncode == 0, err[-3000:]
        assert int(out.strip()) > 0  # the dbt assets were built from the manifest
    assert len(parses.read_text().split()) == 1  # one dbt parse among the three processes
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    assert "model.mars_assets.photo_gaps" in manifest["nodes"]
    # the private parse folder is gone; only the manifest and the lock remain
    assert sorted(p.name for p in (project / "target").iterdir()) == [".manifest.lock", "manifest.json"]


def test_a_current_manifest_is_not_parsed_again(tmp_path):
    project = copy_of_the_dbt_project(tmp_path)
    (project / "target").mkdir()
    # copytree keeps the project files' times; the copied manifest is newer than all of them
    shutil.copy(ensure_manifest(), project / "target" / "manifest.json")
    env = {**os.environ, "MARS_DBT_PROJECT_DIR": str(project)}
    ready, parses = tmp_path / "ready", tmp_path / "parses.log"
    ready.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(ready), "1", str(parses)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert not parses.exists()


def test_importing_the_code_location_runs_no_dbt_parse(tmp_path):
    """Import has no side effect: the manifest is prepared when the definitions are built."""
    project = copy_of_the_dbt_project(tmp_path)
    env = {**os.environ, "MARS_DBT_PROJECT_DIR": str(project)}
    code = "import mars_assets.definitions, mars_assets.defs.gold.dbt, mars_assets.settings"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (project / "target").exists()
