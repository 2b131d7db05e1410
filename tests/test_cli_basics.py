"""The CLI's own basics (issue 26): `memory-api --version`, and `memory ...` without --user."""

from __future__ import annotations

from importlib.metadata import version

from click.testing import CliRunner

from memory_api.cli import main


def test_version_is_the_installed_packages_and_needs_no_redis():
    # A Redis that is not there: --version must answer without connecting to anything.
    done = CliRunner().invoke(main, ["--version"], env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert done.exit_code == 0, done.output
    assert done.output == f"memory-api {version('memory-api')}\n"


def memory_cli(redis_server, *args: str):
    return CliRunner().invoke(main, ["memory", *args], env={"REDIS_URL": redis_server.url,
                                                            "MEMORY_API_EMBEDDINGS": "off"})


def test_memory_commands_default_to_the_only_user_then_to_default(redis_server, redis_client, services):
    # no user has a key: the user must be named
    refused = memory_cli(redis_server, "list")
    assert refused.exit_code == 2 and "no user has an API key yet" in refused.output
    services.memories.create("alice", "Likes tea.")
    services.keys.create(user="alice")
    services.keys.create(service="backend")  # a service key names no user
    listed = memory_cli(redis_server, "list")
    assert listed.exit_code == 0, listed.output
    assert '"Likes tea."' in listed.output  # alice's, the only user with a key

    services.keys.create(user="bob")
    two = memory_cli(redis_server, "list")
    assert two.exit_code == 2 and "2 users have keys (alice, bob): name one with --user" in two.output
    services.memories.create("default", "Prefers metric units.")
    services.keys.create(user="default")
    assert '"Prefers metric units."' in memory_cli(redis_server, "list").output  # then `default`
    assert '"Likes tea."' in memory_cli(redis_server, "list", "--user", "alice").output
