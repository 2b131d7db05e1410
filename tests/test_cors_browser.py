"""CORS from a real browser: a page on one local origin calls the API on another port.

Chromium is Debian's (`apt-get install chromium`; .ci/run installs it when it can), driven by
Playwright for Python (the `test` extra). Skipped, saying which is missing, only when one of them is
truly not there.
"""

from __future__ import annotations

import shutil

import pytest

from helpers import LiveServer, cannot_run
from memory_api import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None



@pytest.fixture(autouse=True)
def browser_present():
    if sync_playwright is None:
        cannot_run("SKIPPED BROWSER TEST: Playwright for Python is not installed (pip install -e '.[test]')")
    if CHROMIUM is None:
        cannot_run("SKIPPED BROWSER TEST: no chromium on PATH (apt-get install chromium; .ci/run does it as root)")


def blank_page(environ, start_response):
    """The web app's page: nothing but an origin for the browser to run fetch() from."""
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"<!doctype html><title>a browser client</title>"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def origins():
    """Two page servers on two local ports: one allowed by MEMORY_API_CORS_ORIGINS, one not."""
    with LiveServer(blank_page) as allowed, LiveServer(blank_page) as other:
        yield allowed.url, other.url


@pytest.fixture
def cors_api(settings, services, origins):
    with LiveServer(create_app(settings.replace(cors_origins=origins[0]), services)) as server:
        yield server.url


# Runs in the page: what a browser client does, and what it can read of each answer.
CLIENT_SCRIPT = """
async ({api, key}) => {
  const headers = {"Authorization": `Bearer ${key}`, "Content-Type": "application/json"};
  const created = await fetch(`${api}/v1/memory`, {method: "POST", headers,
                                                   body: JSON.stringify({content: "I like green tea."})});
  const memory = await created.json();
  const etag = created.headers.get("ETag");
  const updated = await fetch(`${api}/v1/memory/${memory.id}`, {method: "PATCH",
      headers: {...headers, "If-Match": etag}, body: JSON.stringify({content: "I like black tea."})});
  const stale = await fetch(`${api}/v1/memory/${memory.id}`, {method: "PATCH",
      headers: {...headers, "If-Match": etag}, body: JSON.stringify({content: "I like coffee."})});
  const unauthorized = await fetch(`${api}/v1/memory`, {headers: {"Authorization": "Bearer sk-mem-wrong"}});
  return {
    created: created.status, etag, requestId: created.headers.get("x-request-id"),
    updated: updated.status, newEtag: updated.headers.get("ETag"), content: (await updated.json()).content,
    stale: stale.status, staleError: (await stale.json()).error,
    unauthorized: unauthorized.status, unauthorizedError: (await unauthorized.json()).error,
  };
}
"""

BLOCKED_SCRIPT = """
async ({api, key}) => {
  try {
    await fetch(`${api}/v1/memory`, {headers: {"Authorization": `Bearer ${key}`}});
    return "read";
  } catch (err) {
    return err.name;  // TypeError: the browser refused to hand the answer to the page
  }
}
"""


def test_a_page_on_an_allowed_origin_calls_the_api_and_reads_its_headers(browser, origins, cors_api, make_key):
    page = browser.new_page()
    try:
        page.goto(origins[0])
        seen = page.evaluate(CLIENT_SCRIPT, {"api": cors_api, "key": make_key("alice")})
    finally:
        page.close()
    assert seen["created"] == 200
    assert seen["etag"] and seen["etag"].startswith('"')
    assert seen["requestId"].startswith("req_")
    assert (seen["updated"], seen["content"]) == (200, "I like black tea.")
    assert seen["newEtag"] != seen["etag"]
    assert (seen["stale"], seen["staleError"]["code"]) == (412, "precondition_failed")
    assert (seen["unauthorized"], seen["unauthorizedError"]["code"]) == (401, "invalid_api_key")


def test_a_page_on_another_origin_cannot_read_the_api(browser, origins, cors_api, make_key):
    page = browser.new_page()
    try:
        page.goto(origins[1])
        assert page.evaluate(BLOCKED_SCRIPT, {"api": cors_api, "key": make_key("alice")}) == "TypeError"
    finally:
        page.close()
