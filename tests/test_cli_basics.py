"""The CLI's own basics: `memory-api --version` (issue 26)."""

from __future__ import annotations

from importlib.metadata import version

from click.testing import CliRunner

from memory_api.cli import main


def test_version_is_the_installed_packages_and_needs_no_redis():
    # A Redis that is not there: --version must answer without connecting to anything.
    done = CliRunner().invoke(main, ["--version"], env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert done.exit_code == 0, done.output
    assert done.output == f"memory-api {version('memory-api')}\n"
