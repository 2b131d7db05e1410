"""README, .env.example and .ci/run stay true to the code."""

from __future__ import annotations

import re

from conftest import REPO
from memory_api.config import describe_settings

README = (REPO / "README.md").read_text()


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv .*?)\n```", README)


def test_every_setting_is_in_env_example_and_readme():
    example = (REPO / ".env.example").read_text()
    for env, default, help_text in describe_settings():
        assert f"# {env}=" in example, env
        assert help_text in example, env
        assert f"`{env}`" in README, env


def test_readme_has_the_two_commands_and_ci_runs_the_test_one():
    run, test = readme_commands()
    assert run.endswith("memory-api serve")
    assert "pytest" in test
    ci = (REPO / ".ci" / "run").read_text()
    assert test in ci.splitlines()
