"""Every setting described for people: .env.example and the settings table of the docs, generated from the
declarations in memory_api/config.py (tests/test_docs.py checks the committed files match)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .config import Settings


def describe_settings() -> list[tuple[str, Any, str]]:
    """(environment variable, default, meaning) for every setting, in declaration order."""
    return [
        (f.metadata["env"], f.default, f.metadata["help"]) for f in dataclasses.fields(Settings)
    ]


def env_example_text() -> str:
    """The text of .env.example (`memory-api settings env > .env.example`)."""
    lines = ["# memory-api settings. Copy to .env and uncomment what you change;",
             "# a real environment variable always wins over this file.", ""]
    for env, default, meaning in describe_settings():
        lines += [f"# {meaning}", f"# {env}={'' if default is None else default}", ""]
    return "\n".join(lines)


def settings_table_markdown() -> str:
    """The settings table of docs/settings.md (`memory-api settings table`)."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for env, default, meaning in describe_settings():
        shown = "(unset)" if default is None else f"`{default}`"
        rows.append(f"| `{env}` | {shown} | {meaning} |")
    return "\n".join(rows)
