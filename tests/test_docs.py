"""README, .env.example and .ci/run stay true to the code."""

from __future__ import annotations

import re

from helpers import REPO
from memory_api.settings_docs import env_example_text, settings_table_markdown

README = (REPO / "README.md").read_text()


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv .*?)\n```", README)


def test_env_example_lists_every_setting():
    assert (REPO / ".env.example").read_text() == env_example_text(), (
        "regenerate: memory-api settings env > .env.example"
    )


def test_readme_settings_table_is_current():
    assert settings_table_markdown() in README, "regenerate: memory-api settings table"


def readme_endpoints() -> set[tuple[str, str]]:
    """(method, path) of each row of the README's endpoints table: `GET/DELETE /v1/x/{id}` is two."""
    table = README.split("### Endpoints", 1)[1].split("\n\n", 2)[1]
    listed = set()
    for row in table.splitlines()[2:]:
        for entry in re.findall(r"`([A-Z/]+) (/[^`?]*)[^`]*`", row.split("|")[1]):
            listed |= {(method, entry[1]) for method in entry[0].split("/")}
    return listed


def test_readme_endpoints_table_lists_every_route(settings):
    """Every route the app serves (metrics on, so /metrics is one) has a row, and every row a route."""
    from memory_api import create_app

    app = create_app(settings.replace(metrics=True))
    routes = {(method, re.sub(r"<[^>]+>", "{id}", rule.rule))
              # Static files (Flask's own, and the console's /console/static/...) are not endpoints to list.
              for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[-1] != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - readme_endpoints() == set(), "routes missing from the README's endpoints table"
    assert readme_endpoints() - routes == set(), "README rows naming no route"


def test_readme_has_the_two_commands_and_ci_runs_the_test_one():
    run, test = readme_commands()
    assert run.endswith("memory-api serve")
    assert "pytest" in test
    ci = (REPO / ".ci" / "run").read_text()
    assert test in ci.splitlines()
