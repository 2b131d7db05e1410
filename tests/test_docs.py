"""README, .env.example and .ci/run stay true to the code."""

from __future__ import annotations

import re

from helpers import REPO
from memory_api.config import env_example_text, settings_table_markdown

README = (REPO / "README.md").read_text()


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv .*?)\n```", README)


def test_env_example_lists_every_setting():
    assert (REPO / ".env.example").read_text() == env_example_text(), (
        "regenerate: memory-api settings env > .env.example"
    )


def test_readme_settings_table_is_current():
    assert settings_table_markdown() in README, "regenerate: memory-api settings table"


def test_readme_has_the_two_commands_and_ci_runs_the_test_one():
    run, test = readme_commands()
    assert run.endswith("memory-api serve")
    assert "pytest" in test
    ci = (REPO / ".ci" / "run").read_text()
    assert test in ci.splitlines()
