"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app` (set REDIS_URL; `memory-api serve` handles the embedded default)."""

from memory_api import create_app

app = create_app()
