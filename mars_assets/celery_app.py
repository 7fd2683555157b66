"""The Celery app of mars_assets' workers, the ``-A`` target of the worker command::

    dagster-celery worker start -A mars_assets.celery_app -q nasa_api,cpu   # or: make worker

The worker needs the same environment as the code location (``MARS_EXECUTOR=celery``,
``MARS_CELERY_BROKER``, ``DAGSTER_HOME`` with the shared PostgreSQL storage, the S3 warehouse
settings); see docs/SCALE_OUT.md. Importing this module builds the app object only: its
configuration is read from the environment when the worker starts (mars_assets.executors).
"""

from mars_assets.executors import worker_app

app = worker_app()
