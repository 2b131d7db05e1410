"""`memory-api mcp`: the MCP server over stdio (one user) or streamable HTTP (API keys)."""

from __future__ import annotations

import click

from ..errors import ApiError
from ..services import Services
from . import announce_store, main, settings_from_env


@main.command()
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--user", help="stdio: the user to act for (default MEMORY_API_USER).")
@click.option("--host", default="127.0.0.1", show_default=True, help="http: address to bind.")
@click.option("--port", type=int, default=8001, show_default=True, help="http: port.")
def mcp(transport: str, user: str | None, host: str, port: int) -> None:
    """Serve the memories as MCP tools: over stdio (desktop clients launch this) for one user, or over
    streamable HTTP for any caller with an API key."""
    from ..mcp.http import http_app
    from ..mcp.server import build_mcp_server
    from ..services.auth import validate_user_id

    settings = settings_from_env()
    announce_store(settings)  # stderr: over stdio, stdout is the protocol
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
