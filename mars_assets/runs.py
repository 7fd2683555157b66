"""How ``mars-assets demo`` and ``run`` execute jobs: in their own process, in the ranged runs a
backfill makes, with progress, and cleaning up after a killed earlier process."""

from __future__ import annotations

import os
import socket
import sys
import time

#: Console log level of the demo's runs (every event still goes to the instance for the UI).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
#: Tags of every run this CLI executes in its own process: which process ran it, on which host.
PID_TAG, HOST_TAG = "mars_assets/pid", "mars_assets/host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_runs(instance, out=sys.stdout) -> int:
    """Mark failed the runs an earlier ``mars-assets`` process of this host left unfinished (it was
    killed: its pid is gone) and free the pool slots they held, which nothing else frees without a
    daemon (a killed run's ``nasa_api`` slot would block every later photos step). Returns how many."""
    import dagster as dg

    host = socket.gethostname()
    reaped = 0
    unfinished = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED]
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=unfinished, tags={HOST_TAG: host})):
        pid = run.tags.get(PID_TAG, "")
        if pid.isdigit() and not _alive(int(pid)):
            instance.report_run_failed(run, f"its mars-assets process {pid} ended without finishing it (killed)")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            reaped += 1
    if reaped:
        print(f"marked {reaped} run(s) of killed mars-assets processes failed and freed their pool slots", file=out)
    return reaped


def job_runner(defs, instance, failures: list[str]):
    """``run(job, **execute_in_process kwargs)``: runs a job of ``defs`` on ``instance`` with
    console logs at WARNING; a failed run is appended to ``failures`` (not raised)."""

    def run(job: str, **kw) -> None:
        kw["tags"] = {**kw.get("tags", {}), PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, raise_on_error=False, run_config=QUIET, **kw
        )
        if not result.success:
            tags = kw.get("tags") or {}
            where = kw.get("partition_key") or "..".join(v for k, v in tags.items() if "partition_range" in k)
            failures.append(f"{job} {where}".strip())

    return run


def ingest(run, instance, partitions: dict[str, list[int]], out=sys.stdout, job: str = "rover_sol_job") -> int:
    """Materialize the ingest assets of ``partitions`` (rover → sols) the way a backfill does:
    ranged runs of ``job`` of at most ``MARS_BATCH_SOLS`` partitions each
    (:func:`mars_assets.partitions.batch_ranges`), with a progress bar (tqdm) in a terminal
    and one line per run otherwise. Returns the number of runs."""
    from tqdm import tqdm

    from mars_assets.partitions import SOL_PARTITIONS_NAME, add_sols, batch_ranges, range_tags, rover_sol_of_key
    from mars_assets.settings import Settings

    add_sols(instance, [s for sols in partitions.values() for s in sols])
    batch = Settings.batch_sols_from_env()
    order = instance.get_dynamic_partitions(SOL_PARTITIONS_NAME)
    ranges = [k for r, sols in sorted(partitions.items()) for k in batch_ranges(order, r, sols, batch)]
    total = sum(len(sols) for sols in partitions.values())
    tty = hasattr(out, "isatty") and out.isatty()
    started = time.perf_counter()
    with tqdm(total=total, unit="sol", file=out, disable=not tty, dynamic_ncols=True) as bar:
        done = 0
        for i, keys in enumerate(ranges, start=1):
            run(job, tags=range_tags(keys))
            first, last = (order.index(str(rover_sol_of_key(k)[1])) for k in (keys.start, keys.end))
            size = last - first + 1
            done += size
            bar.update(size)
            if not tty:
                rate = done / (time.perf_counter() - started)
                print(
                    f"run {i}/{len(ranges)}: {keys.start}..{keys.end}, {done}/{total} partitions, "
                    f"{rate:.1f} partitions/s",
                    file=out,
                    flush=True,
                )
    return len(ranges)
