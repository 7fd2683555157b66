"""Where the steps of the asset jobs run: the default executor, or Celery workers.

``MARS_EXECUTOR=default`` (the default) keeps Dagster's own executor: every step on the machine
of its run, nothing to start. ``MARS_EXECUTOR=celery`` selects dagster-celery's executor
(https://docs.dagster.io/api/libraries/dagster-celery) for every job and backfill: each step is
a Celery task on the broker ``MARS_CELERY_BROKER`` (Redis), picked up by a worker started with
``dagster-celery worker start -A mars_assets.celery_app -q <queue>`` (:mod:`mars_assets.celery_app`).

Two queues. Steps that call NASA/JPL (photos, manifests, rovers, MMGIS waypoints, image
downloads) carry the op tag ``dagster-celery/queue: nasa_api`` (:data:`NASA_TAGS`); every other
step (image statistics, silver, gold, catalog) goes to ``cpu``. The NASA request rate is held
cluster-wide twice over: the Dagster pool ``nasa_api`` (its limit lives in the instance's storage,
PostgreSQL, which every run consults before it submits a step) and the worker slots serving
``nasa_api``. A worker lost mid-step loses nothing: tasks are acknowledged late and rejected when
their worker process dies, so the broker hands them to another worker (Redis: after
``MARS_CELERY_VISIBILITY_TIMEOUT`` seconds); partition writes are idempotent.

Broker and result-backend URLs (which may hold a password) are read from the environment only:
the executor config names the variables (Dagster resolves them in the run), never their values.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from celery import Celery

    from mars_assets.settings import Settings

#: dagster-celery's step routing tag (``dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG``; spelled out
#: so the asset modules import without dagster-celery installed).
QUEUE_TAG = "dagster-celery/queue"
#: The queue of steps that call NASA/JPL (named after their Dagster pool, lib.bronze.API_POOL).
NASA_QUEUE = "nasa_api"
#: The queue of CPU work: image statistics, silver, gold, the catalog (and every untagged step).
CPU_QUEUE = "cpu"
#: ``op_tags`` of a step that calls NASA/JPL, and of a CPU step.
NASA_TAGS = {QUEUE_TAG: NASA_QUEUE}
CPU_TAGS = {QUEUE_TAG: CPU_QUEUE}
EXECUTORS = ("default", "celery")
BROKER_ENV = "MARS_CELERY_BROKER"
BACKEND_ENV = "MARS_CELERY_BACKEND"
#: dagster-celery's own broker transport options (dagster_celery.defaults), kept when ours are added.
_TRANSPORT_DEFAULTS = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def celery_settings(visibility_timeout: float) -> dict:
    """Celery settings (lower-case names, https://docs.celeryq.dev/en/stable/userguide/configuration.html)
    shared by the executor in each run and by every worker. ``visibility_timeout`` (seconds) is how
    long Redis waits before it gives the task of a vanished worker to another one (found within
    a tenth of it more, at most 10 s); it must exceed the longest step, or a step still running is
    started a second time elsewhere."""
    return {
        "task_default_queue": CPU_QUEUE,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            **_TRANSPORT_DEFAULTS,
            "visibility_timeout": visibility_timeout,
            # kombu sweeps for such tasks every interval × throttle s (default 10 × 10): every 1-10 s here
            "unacked_restore_interval": max(1.0, min(10.0, visibility_timeout / 10)),
            "unacked_restore_throttle": 1,
        },
        "result_backend_transport_options": {"visibility_timeout": visibility_timeout},
    }


def executor_def(settings: Settings) -> dg.ExecutorDefinition | None:
    """The executor of every job (``Definitions(executor=...)``): None for ``default`` (Dagster's
    own), dagster-celery's ``celery_executor`` configured for this project for ``celery``.
    Raises ValueError for an unknown ``MARS_EXECUTOR`` or for ``celery`` without a broker."""
    if settings.executor == "default":
        return None
    check_celery_env(settings)
    from dagster_celery import celery_executor

    return celery_executor.configured(
        {
            "broker": {"env": BROKER_ENV},
            "backend": {"env": settings.celery_backend_var},
            "config_source": celery_settings(settings.celery_visibility_timeout),
            "retries": {"enabled": {}},
        },
        name="celery",
    )


def check_celery_env(settings: Settings) -> None:
    """Raise ValueError unless ``settings`` select a known executor and, for ``celery``, the
    broker variable is set (its value is never shown)."""
    if settings.executor not in EXECUTORS:
        raise ValueError(f"MARS_EXECUTOR must be one of {', '.join(EXECUTORS)}, not {settings.executor!r}")
    if settings.executor == "celery" and not os.environ.get(BROKER_ENV):
        raise ValueError(f"MARS_EXECUTOR=celery needs {BROKER_ENV} (a Redis URL such as redis://host:6379/0)")


def worker_settings(settings: Settings) -> dict:
    """The Celery settings of a worker: :func:`celery_settings` plus the broker and result backend
    read from the environment now. Raises ValueError without ``MARS_CELERY_BROKER``."""
    if not os.environ.get(BROKER_ENV):
        raise ValueError(f"a mars_assets Celery worker needs {BROKER_ENV} (a Redis URL such as redis://host:6379/0)")
    return {
        **celery_settings(settings.celery_visibility_timeout),
        "broker_url": os.environ[BROKER_ENV],
        "result_backend": os.environ.get(settings.celery_backend_var) or os.environ[BROKER_ENV],
    }


def worker_app() -> Celery:
    """The Celery app of the workers: dagster-celery's app with its step task, configured lazily
    from the environment (:class:`~mars_assets.settings.Settings`) when the worker first reads
    its configuration, so building it reads and connects to nothing."""
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    from mars_assets.settings import Settings

    app = make_app({})
    app.add_defaults(lambda: worker_settings(Settings.from_env()))
    create_task(app)
    return app
