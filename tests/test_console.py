"""The web console's page and files (no browser): its security headers, that it can be turned off, and
that its code never parses HTML. tests/test_console_browser.py drives it in Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from memory_api import create_app

STATIC = Path(__file__).resolve().parent.parent / "memory_api" / "console" / "static"
STATIC_FILES = sorted(p.name for p in STATIC.iterdir())


def fetch(client, path: str):
    """GET and close: a static file's response holds the file open until then."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def csp_directives(header: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in map(str.strip, header.split(";"))}


@pytest.mark.parametrize("path", ["/console", "/console/no-such-page", *(f"/console/static/{f}" for f in STATIC_FILES)])
def test_every_console_response_carries_a_strict_policy(client, path):
    response = fetch(client, path)
    assert response.status_code == (404 if "no-such" in path else 200)
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert (csp["frame-ancestors"], csp["object-src"], csp["base-uri"]) == ("'none'", "'none'", "'none'")
    assert csp["require-trusted-types-for"] == "'script'"
    assert not any("unsafe" in value for value in csp.values())
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_api_itself_is_not_given_the_console_policy(client):
    assert "Content-Security-Policy" not in client.get("/healthz").headers


def test_scripts_are_served_as_javascript(client):
    """With nosniff, a module script served under another type would not run."""
    for name in STATIC_FILES:
        if name.endswith(".js"):
            assert fetch(client, f"/console/static/{name}").mimetype in ("text/javascript", "application/javascript")


class _Inline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style" or "style" in names:
            self.found.append(f"inline style on <{tag}>")
        self.found += [f"{name}= on <{tag}>" for name in names if name.startswith("on")]


def test_the_page_has_no_inline_script_style_or_handlers(client):
    page = client.get("/console").text
    parser = _Inline()
    parser.feed(page)
    assert parser.found == []
    # The limits it shows are the server's settings.
    settings = client.application.config["MEMORY_API_SETTINGS"]
    assert f'data-max-words="{settings.max_words}"' in page and f'maxlength="{settings.max_content_chars}"' in page


def test_the_scripts_never_parse_html_or_code():
    """Memory content reaches the page as text only (textContent, text nodes)."""
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
                       r"createContextualFragment|DOMParser")
    for name in STATIC_FILES:
        if name.endswith(".js"):
            text = (STATIC / name).read_text()
            code = re.sub(r"//.*", "", text)  # comments may name what the code avoids
            assert not sinks.search(code), f"{name}: {sinks.search(code).group()}"
            assert "localStorage" not in code, f"{name}: the key belongs in sessionStorage"


def test_the_console_can_be_turned_off(settings, services):
    client = create_app(settings.replace(console=False), services).test_client()
    for path in ("/console", "/console/static/app.js"):
        response = fetch(client, path)
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
        assert response.json["error"]["message"] == f"Unknown URL: GET {path}."


def test_the_setting_is_read_from_the_environment():
    from memory_api.config import Settings

    assert Settings.from_env({}, dotenv=False).console is True
    assert Settings.from_env({"MEMORY_API_CONSOLE": "false"}, dotenv=False).console is False


class _Controls(HTMLParser):
    """Every form control of the page, with how it is named: a <label for>, aria-label or aria-labelledby."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.ids: set[str] = set()
        self.options: dict[str, list[str]] = {}
        self._select: str | None = None
        self._option = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if names.get("id"):
            self.ids.add(names["id"])
        if tag == "label" and names.get("for"):
            self.label_for.add(names["for"])
        if tag in ("input", "select", "textarea") and names.get("type") != "hidden":
            self.controls.append({"tag": tag, **names})
        if tag == "select":
            self._select = names.get("id")
            self.options[self._select] = []
        self._option = tag == "option"

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "option":
            self._option = False

    def handle_data(self, data):
        if self._option and self._select:
            self.options[self._select].append(data.strip())


def test_every_control_of_the_page_has_a_name(client):
    """The screens (spaces and members included) are usable with a screen reader: no unnamed field."""
    parser = _Controls()
    parser.feed(client.get("/console").text)
    assert len(parser.controls) > 20
    for control in parser.controls:
        named = (control.get("id") in parser.label_for or control.get("aria-label")
                 or all(part in parser.ids for part in (control.get("aria-labelledby") or "-").split()))
        assert named, f"an unnamed <{control['tag']}>: {control}"


def test_the_space_switcher_and_members_page_are_on_the_page(client):
    from memory_api.services.spaces import MAX_NAME_CHARS, ROLES

    page = client.get("/console").text
    parser = _Controls()
    parser.feed(page)
    # the switcher: the person's own memories first (the spaces come from GET /v1/spaces in the browser)
    assert parser.options["space-select"] == ["My memories"]
    assert 'data-spaces-api="/v1/spaces"' in page
    # the roles offered are the API's, and names are held to the API's length
    assert parser.options["member-add-role"] == list(ROLES)
    for field in ("space-create-name", "space-rename-name"):
        assert re.search(rf'id="{field}"[^>]*maxlength="{MAX_NAME_CHARS}"', page), field
    # a space is deleted only by typing its name: the button starts disabled
    assert re.search(r'<button type="submit" id="space-delete-yes"[^>]*disabled', page)


def test_every_view_drops_stale_answers():
    """A screen whose show() waits for the API keeps only the newest answer (ui.js latestOnly): a switch of
    space, a filter or a second search while one loads never shows the older answer."""
    loading = []
    for name in STATIC_FILES:
        text = (STATIC / name).read_text() if name.endswith(".js") else ""
        show = re.search(r"^export async function show\(.*?^}$", text, re.MULTILINE | re.DOTALL)
        if show and "await " in show.group():  # it loads what it shows (itself or through its helpers)
            loading.append(name)
            assert "latestOnly()" in text and ".wanted(" in text, f"{name} shows answers without dropping stale ones"
    assert {"members.js", "memories.js", "overview.js", "history.js", "editor.js"} <= set(loading)
