"""`memory-api keys`, `check`, `reindex`, `migrate` and `settings`: administration on the configured Redis."""

from __future__ import annotations

import json
import sys
import time

import click

from ..errors import ApiError
from ..services import Services
from . import ApiErrorExit, announce_store, main, open_services, settings_from_env


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
@click.option("--space", help="Check only this shared space.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(user: str | None, space: str | None, as_json: bool) -> None:
    """Verify that every memory record and every index agree, for every user and shared space; exit 1 if
    anything disagrees."""
    from ..owners import space_owner
    from ..services.spaces import check_space_id

    with open_services() as services:
        report = services.check_consistency(space_owner(check_space_id(space)) if space else user)
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "users": report.users, "memories": report.memories,
                               "problems": report.problems}))
    else:
        for problem in report.problems:
            click.echo(problem)
        verdict = "OK" if report.ok else f"{len(report.problems)} problem(s)"
        click.echo(f"checked {report.users} user(s) and space(s), {report.memories} memories: {verdict}")
    sys.exit(0 if report.ok else 1)


@main.command()
@click.option("--user", help="Only this user's memories.")
@click.option("--space", help="Only this shared space's memories.")
def reindex(user: str | None, space: str | None) -> None:
    """Re-index memories whose search index entries are wrong or missing (what `check` names) or that lack a
    vector of the current embedding model, and mend damaged postings (safe while serving; run it again to
    resume)."""
    from ..owners import space_owner
    from ..services.spaces import check_space_id

    with open_services() as services:
        reindexer = services.reindexer()
        users = reindexer.users(space_owner(check_space_id(space)) if space else user)
        with click.progressbar(length=reindexer.count(users), label="reindexing", file=sys.stderr) as bar:
            report = reindexer.run(users, progress=bar.update)
        if user is None and space is None:
            services.record_embedding_model()
    mended = f"; mended the postings of {report.terms_mended} term(s)" if report.terms_mended else ""
    if report.postings_dropped:
        mended += f"; dropped {report.postings_dropped} search postings no memory explains"
    click.echo(f"reindexed {report.reindexed} of {report.seen} memories of {report.users} user(s){mended}")


@main.command()
@click.option("--drop-previous", is_flag=True,
              help="Afterwards, delete the previous format's keys (kept by default, as a way back).")
def migrate(drop_previous: bool) -> None:
    """Copy a store of the previous format into this version's, and index every memory anew. Stop every
    older memory-api using this Redis first; until this has run, this version refuses to serve it. Run it
    again to resume."""
    from ..services.migration import migrate_store
    from ..store import keys
    from ..store.migrate import StoreMigration
    from ..store.redis import RedisStore

    settings = settings_from_env()
    announce_store(settings)
    redis_store = RedisStore.from_settings(settings, check_format=False)
    services = Services.build(settings, redis_store)
    try:
        migration = StoreMigration(redis_store.client)
        if migration.pending():
            report = migrate_store(migration, services.reindexer())
            click.echo(f"migrated {keys.PREVIOUS_PREFIX} -> {keys.PREFIX}: copied {report.copied.copied} keys "
                       f"({report.copied.skipped} copied before), indexed {report.indexed.reindexed} memories "
                       f"of {report.indexed.users} user(s)")
        else:
            click.echo(f"nothing to migrate: this store is of format {keys.PREFIX}")
        if drop_previous:
            click.echo(f"deleted {migration.drop_previous()} keys of format {keys.PREVIOUS_PREFIX}")
    except ApiError as exc:
        raise ApiErrorExit(exc) from None
    finally:
        services.close()


@main.command("settings")
@click.argument("form", type=click.Choice(["table", "env"]), default="table")
def settings_cmd(form: str) -> None:
    """Print every setting: a Markdown table (docs/settings.md) or .env.example's text."""
    from ..settings_docs import env_example_text, settings_table_markdown

    click.echo(env_example_text() if form == "env" else settings_table_markdown(), nl=form == "table")
