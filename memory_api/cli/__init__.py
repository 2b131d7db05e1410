"""The `memory-api` command: serve, administer keys, work with memories, on the same Redis as `serve`.

Every command uses the Redis `serve` uses: REDIS_URL, or the embedded Redis of
MEMORY_API_DATA_DIR (default: the user data directory, wherever the command
runs), attaching to the one a running `serve` started, or starting one for the
duration of the command; each says on stderr which one it uses. A refused
request prints the same error envelope as the REST API (on stderr) and exits 1.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import click

from ..config import ConfigError, Settings, default_data_dir
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


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}***@{netloc}"))


# Where the embedded Redis kept its data before the default became the user data directory.
_OLD_DEFAULT_DATA_DIR = "./.memory-api"


def store_in_use(settings: Settings) -> str:
    """Which Redis a command uses, to be said before it uses it: a Redis URL (password hidden), or
    the embedded Redis's data directory."""
    if settings.redis_url:
        return f"Redis at {_without_password(settings.redis_url)}"
    return f"embedded Redis, data in {os.path.abspath(settings.data_dir)}"


def announce_store(settings: Settings) -> None:
    """Say on stderr (stdout may be data) which Redis this command uses, and warn when a store of an
    older version sits in the working directory unused."""
    click.echo(f"memory-api: {store_in_use(settings)}", err=True)
    old = os.path.abspath(_OLD_DEFAULT_DATA_DIR)
    if (not settings.redis_url and settings.data_dir == default_data_dir() and os.path.isdir(old)
            and old != os.path.abspath(settings.data_dir)):
        click.echo(
            f"memory-api: WARNING: {old} holds an embedded Redis of an older version, which used "
            f"./.memory-api by default; it is not used now. To keep using it, set "
            f"MEMORY_API_DATA_DIR={old} (or move it to {settings.data_dir} while nothing runs).",
            err=True,
        )


@contextlib.contextmanager
def open_services(*, announce: bool = True) -> Iterator[Services]:
    """Services on the configured Redis (said on stderr unless `announce` is off); an embedded one is left
    when the command ends."""
    settings = settings_from_env()
    if announce:
        announce_store(settings)
    services = Services.build(settings)
    try:
        yield services
    except ApiError as exc:
        raise ApiErrorExit(exc) from None
    finally:
        services.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="memory-api", prog_name="memory-api", message="%(prog)s %(version)s")
def main() -> None:
    """memory-api: persistent, user-scoped memory for chat applications."""
    exit_cleanly_on_signals()


# The commands register themselves on `main` when their modules are imported.
from . import admin, chat, data, mcp, memories, serve, worker  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    main()
