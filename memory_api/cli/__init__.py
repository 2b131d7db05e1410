"""The `memory-api` command: serve, administer keys, work with memories, on the same Redis as `serve`.

Every command uses the Redis `serve` uses: REDIS_URL, or the embedded Redis of
MEMORY_API_DATA_DIR, attaching to the one a running `serve` started, or
starting one for the duration of the command. A refused request prints the
same error envelope as the REST API (on stderr) and exits 1.
"""

from __future__ import annotations

import contextlib
import json
from typing import Iterator

import click

from ..config import ConfigError, Settings
from ..errors import ApiError, render_error
from ..services import Services
from .exits import exit_cleanly_on_signals


class ApiErrorExit(click.ClickException):
    """A refused request: the error envelope on stderr, exit status 1."""

    def __init__(self, err: ApiError) -> None:
        _, body, _ = render_error(err)
        super().__init__(err.message)
        self.body = body

    def show(self, file=None) -> None:
        click.echo(json.dumps(self.body, ensure_ascii=False), err=True)


def settings_from_env() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@contextlib.contextmanager
def open_services() -> Iterator[Services]:
    """Services on the configured Redis; an embedded one is left when the command ends."""
    services = Services.build(settings_from_env())
    try:
        yield services
    except ApiError as exc:
        raise ApiErrorExit(exc) from None
    finally:
        services.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """memory-api: persistent, user-scoped memory for chat applications."""
    exit_cleanly_on_signals()


# The commands register themselves on `main` when their modules are imported.
from . import admin, chat, data, mcp, memories, serve  # noqa: E402,F401


if __name__ == "__main__":  # pragma: no cover
    main()
