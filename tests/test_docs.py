"""README, docs/, .env.example and .ci/run stay true to the code."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from helpers import REPO
from memory_api.settings_docs import env_example_text, settings_table_markdown

README = (REPO / "README.md").read_text()
DOCS = REPO / "docs"
API_DOC = (DOCS / "api.md").read_text()
README_MAX_LINES = 250


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv .*?)\n```", README)


def test_env_example_lists_every_setting():
    assert (REPO / ".env.example").read_text() == env_example_text(), (
        "regenerate: memory-api settings env > .env.example"
    )


def test_settings_table_is_current():
    assert settings_table_markdown() in (DOCS / "settings.md").read_text(), \
        "regenerate: ./scripts/regenerate (memory-api settings table, in docs/settings.md)"


def documented_endpoints() -> set[tuple[str, str]]:
    """(method, path) of each row of docs/api.md's endpoints table: `GET/DELETE /v1/x/{id}` is two."""
    table = API_DOC.split("\n## Endpoints\n", 1)[1].strip("\n").split("\n\n", 1)[0]
    listed = set()
    for row in table.splitlines()[2:]:
        for entry in re.findall(r"`([A-Z/]+) (/[^`?]*)[^`]*`", row.split("|")[1]):
            listed |= {(method, entry[1]) for method in entry[0].split("/")}
    return listed


def test_endpoints_table_lists_every_route(settings):
    """Every route the app serves (metrics on, so /metrics is one) has a row, and every row a route."""
    from memory_api import create_app

    app = create_app(settings.replace(metrics=True))
    routes = {(method, re.sub(r"<[^>]+>", "{id}", rule.rule))
              # Static files (Flask's own, and the console's /console/static/...) are not endpoints to list.
              for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[-1] != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - documented_endpoints() == set(), "routes missing from docs/api.md's endpoints table"
    assert documented_endpoints() - routes == set(), "docs/api.md rows naming no route"


def test_readme_has_the_two_commands_and_ci_runs_the_test_one():
    run, test = readme_commands()
    assert run.endswith("memory-api serve")
    assert "pytest" in test
    ci = (REPO / ".ci" / "run").read_text()
    assert test in ci.splitlines()


def test_readme_is_short_and_has_the_two_commands():
    lines = README.count("\n") + (not README.endswith("\n"))
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; the rest belongs in docs/"
    assert len(readme_commands()) == 2


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())  # a link's text
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file (outside code blocks), with GitHub's -1, -2... for repeats."""
    seen: dict[str, int] = {}
    found = set()
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, re.M):
        base = slug(heading)
        found.add(base if base not in seen else f"{base}-{seen[base]}")
        seen[base] = seen.get(base, 0) + 1
    return found


DOC_FILES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


def relative_links(path: Path) -> list[str]:
    """The targets of a file's Markdown links and images that are not URLs (code blocks and spans left out)."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = re.findall(r"\]\(([^)\s]+)(?: \"[^\"]*\")?\)", text)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(path):
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with that anchor in {dest.relative_to(REPO)}")
    assert broken == [], f"broken links in {path.relative_to(REPO)}"


def test_slug_is_githubs():
    assert slug("A hostile search: the search bounds") == "a-hostile-search-the-search-bounds"
    assert slug("From a browser (CORS)") == "from-a-browser-cors"
    assert slug("The block without a model: `POST /v1/memory/context`") == \
        "the-block-without-a-model-post-v1memorycontext"
