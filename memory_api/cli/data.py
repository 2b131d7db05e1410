"""`memory-api export` and `import`: a user's memories as JSON Lines."""

from __future__ import annotations

import contextlib
import json
import sys

import click

from . import main, open_services


@main.command("export")
@click.option("--user", required=True, help="Whose memories.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout).")
def export_cmd(user: str, output: str | None) -> None:
    """Write every memory of USER as JSON Lines (the format POST /v1/memory/import reads)."""
    from ..services.auth import validate_user_id

    with open_services() as services:
        validate_user_id(user)
        with open(output, "w", encoding="utf-8") if output else contextlib.nullcontext(sys.stdout) as stream:
            for line in services.portability.export_lines(user):
                stream.write(line)


@main.command("import")
@click.option("--user", required=True, help="Whose memories.")
@click.option("--on-conflict", type=click.Choice(["skip", "overwrite"]), default="skip", show_default=True,
              help="For ids that exist already.")
@click.argument("file", type=click.File("rb"))
def import_cmd(user: str, on_conflict: str, file) -> None:
    """Import an export FILE ('-' for stdin) into USER's memories; prints the counts as JSON."""
    from ..services.auth import validate_user_id

    with open_services() as services:
        validate_user_id(user)
        result = services.portability.import_file(user, file, on_conflict=on_conflict, author=user)
    click.echo(json.dumps(result))
