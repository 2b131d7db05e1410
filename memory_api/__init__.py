"""memory-api: persistent, user-scoped memory for chat applications, on Redis."""

from __future__ import annotations

import inspect

from flask import Flask

from .config import Settings
from .logs import configure_logging
from .services import Services

__all__ = ["Settings", "create_app"]


class MemoryApiFlask(Flask):
    """Flask, remembering which view and hook functions are coroutines.

    Flask asks `inspect.iscoroutinefunction` for every hook and view on every
    request (and flask-smorest's decorators ask again); the answer never
    changes, and asking cost about a tenth of a GET's Python time.
    """

    def ensure_sync(self, func):
        target = getattr(func, "__func__", func)
        cache = self.__dict__.setdefault("_is_coroutine", {})
        is_coroutine = cache.get(target)
        if is_coroutine is None:
            is_coroutine = cache[target] = inspect.iscoroutinefunction(func)
        return self.async_to_sync(func) if is_coroutine else func


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Build the WSGI app. Tests pass their own Settings; production reads the environment.

    Nothing connects to Redis here: the first request does, so building the app
    (e.g. to write openapi.yaml) needs no Redis.
    """
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    app = MemoryApiFlask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["MEMORY_API_SETTINGS"] = settings
    app.extensions["memory_api"] = services or Services.build(settings)

    from .api import init_api
    from .tokens import get_encoding

    init_api(app)
    if settings.console:
        from .console import init_console

        init_console(app)
    get_encoding()  # load the vocabulary now, not on the first request
    return app
