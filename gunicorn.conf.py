"""gunicorn's configuration for memory-api, the one `memory-api serve` uses, for running gunicorn yourself:

    REDIS_URL=redis://... gunicorn -c gunicorn.conf.py wsgi:app

Plain `gunicorn wsgi:app` runs gunicorn's defaults: the sync worker (one request at a time per worker, a slow
client holds it) and HTML error pages for requests gunicorn refuses itself. This file gives the gevent worker
that answers those in the JSON error envelope, the bind address, worker count, timeouts and log format from
the MEMORY_API_* settings, and each worker's embedding model loaded before its first request.
"""

from memory_api.cli import settings_from_env
from memory_api.cli.serve import gunicorn_options

globals().update(gunicorn_options(settings_from_env()))
