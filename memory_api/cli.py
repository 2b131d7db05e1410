"""The `memory-api` command: serve, and administer keys on the same Redis as `serve`.

Every command uses the Redis `serve` uses: REDIS_URL, or the embedded Redis of
MEMORY_API_DATA_DIR, attaching to the one a running `serve` started, or
starting one for the duration of the command.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import Iterator

import click

from .config import ConfigError, Settings
from .errors import ApiError
from .services import Services


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@contextlib.contextmanager
def open_services() -> Iterator[Services]:
    """Services on the configured Redis; an embedded one is left when the command ends."""
    services = Services.build(_settings())
    try:
        yield services
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        services.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """memory-api: persistent, user-scoped memory for chat applications."""


@main.command()
@click.option("--host", help="Address to bind (default MEMORY_API_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port (default MEMORY_API_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default MEMORY_API_WORKERS or 2).")
@click.option("--threads", type=click.IntRange(1, 256), help="Threads per worker (default MEMORY_API_THREADS or 4).")
def serve(host: str | None, port: int | None, workers: int | None, threads: int | None) -> None:
    """Run the HTTP API under gunicorn (embedded Redis unless REDIS_URL is set)."""
    from .server import serve as run_server

    settings = _settings()
    overrides = {k: v for k, v in dict(host=host, port=port, workers=workers, threads=threads).items() if v is not None}
    sys.exit(run_server(settings.replace(**overrides)))


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.argument("user", required=False)
@click.option("--service", "service", metavar="NAME", help="Create a service key for backend NAME instead.")
def keys_create(user: str | None, service: str | None) -> None:
    """Create a key for USER (or a service key); prints the key alone on stdout, once."""
    if (user is None) == (service is None):
        raise click.UsageError("give a USER, or --service NAME")
    with open_services() as services:
        secret, record = services.keys.create(user=user, service=service)
    click.echo(secret)
    who = f"service {record.subject!r}" if service else f"user {record.subject!r}"
    click.echo(f"created {record.id} for {who}; it is not stored and will not be shown again", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def keys_list(as_json: bool) -> None:
    """List keys (ids and hints only; secrets are never stored)."""
    with open_services() as services:
        records = services.keys.list()
    for r in records:
        if as_json:
            click.echo(json.dumps({"id": r.id, "kind": r.kind, "subject": r.subject, "hint": r.hint,
                                   "created_at": r.created_at}))
        else:
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.created_at))
            click.echo(f"{r.id}  {r.kind:<7}  {r.subject:<24}  {r.hint:<15}  {created}Z")
    if not records and not as_json:
        click.echo("no keys", err=True)


@keys.command("revoke")
@click.argument("key")
def keys_revoke(key: str) -> None:
    """Revoke KEY, given its id (key_...) or the secret itself."""
    with open_services() as services:
        record = services.keys.revoke(key)
    click.echo(f"revoked {record.id} ({record.kind} {record.subject})")


@main.command()
@click.option("--user", help="Check only this user.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(user: str | None, as_json: bool) -> None:
    """Verify that every memory record and every index agree; exit 1 if anything disagrees."""
    from .consistency import check_consistency
    from .store.consistency import ConsistencyStore

    with open_services() as services:
        report = check_consistency(ConsistencyStore(services.redis), user)
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "users": report.users, "memories": report.memories,
                               "problems": report.problems}))
    else:
        for problem in report.problems:
            click.echo(problem)
        verdict = "OK" if report.ok else f"{len(report.problems)} problem(s)"
        click.echo(f"checked {report.users} user(s), {report.memories} memories: {verdict}")
    sys.exit(0 if report.ok else 1)


@main.command("export")
@click.option("--user", required=True, help="Whose memories.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout).")
def export_cmd(user: str, output: str | None) -> None:
    """Write every memory of USER as JSON Lines (the format POST /v1/memory/import reads)."""
    from .auth import validate_user_id

    with open_services() as services:
        validate_user_id(user)
        stream = open(output, "w", encoding="utf-8") if output else sys.stdout
        try:
            for line in services.portability.export_lines(user):
                stream.write(line)
        finally:
            if output:
                stream.close()


@main.command("import")
@click.option("--user", required=True, help="Whose memories.")
@click.option("--on-conflict", type=click.Choice(["skip", "overwrite"]), default="skip", show_default=True,
              help="For ids that exist already.")
@click.argument("file", type=click.File("rb"))
def import_cmd(user: str, on_conflict: str, file) -> None:
    """Import an export FILE ('-' for stdin) into USER's memories; prints the counts as JSON."""
    from .auth import validate_user_id

    with open_services() as services:
        validate_user_id(user)
        result = services.portability.import_lines(user, file, on_conflict=on_conflict)
    click.echo(json.dumps(result))


@main.command()
@click.option("--url", help="memory-api to talk to (default MEMORY_API_URL or http://127.0.0.1:8000).")
@click.option("--key", help="API key (default MEMORY_API_KEY).")
@click.option("--model", help="Model to ask (default: the server's MEMORY_API_CHAT_MODEL).")
@click.option("--conversation", "conversation_id", help="Continue this conversation (conv_...).")
@click.option("--no-memory", is_flag=True, help="Do not inject stored memories.")
def chat(url: str | None, key: str | None, model: str | None, conversation_id: str | None, no_memory: bool) -> None:
    """Chat in the terminal with a running memory-api; replies stream, memories are injected."""
    from .chat_cli import run_chat

    settings = _settings()
    key = key or settings.client_key
    if not key:
        raise click.UsageError("give --key or set MEMORY_API_KEY")
    sys.exit(run_chat(url or settings.client_url, key, model=model, conversation_id=conversation_id,
                      inject=not no_memory))


@main.command()
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--user", help="stdio: the user to act for (default MEMORY_API_USER).")
@click.option("--host", default="127.0.0.1", show_default=True, help="http: address to bind.")
@click.option("--port", type=int, default=8001, show_default=True, help="http: port.")
def mcp(transport: str, user: str | None, host: str, port: int) -> None:
    """Serve the memories as MCP tools: over stdio (desktop clients launch this) for one user, or over
    streamable HTTP for any caller with an API key."""
    from .auth import validate_user_id
    from .mcp_http import http_app
    from .mcp_server import build_mcp_server

    settings = _settings()
    services = Services.build(settings)
    try:
        services.redis.client.ping()  # attach to (or start) the same Redis as `serve`, now
        if transport == "stdio":
            user = user or settings.mcp_user
            if not user:
                raise click.UsageError("give --user or set MEMORY_API_USER")
            try:
                validate_user_id(user, param="--user")
            except ApiError as exc:
                raise click.UsageError(exc.message) from None
            build_mcp_server(services, user=user).run("stdio")
        else:
            import uvicorn

            click.echo(f"memory-api MCP (streamable HTTP) on http://{host}:{port}/mcp", err=True)
            uvicorn.run(http_app(services, host=host), host=host, port=port, log_level="warning")
    finally:
        services.close()


@main.command("settings")
@click.argument("form", type=click.Choice(["table", "env"]), default="table")
def settings_cmd(form: str) -> None:
    """Print every setting: a Markdown table (README) or .env.example's text."""
    from .config import env_example_text, settings_table_markdown

    click.echo(env_example_text() if form == "env" else settings_table_markdown(), nl=form == "table")


if __name__ == "__main__":  # pragma: no cover
    main()
