"""Driving the web console in Debian's Chromium with Playwright (tests/test_console_browser.py, and
scripts/console_screenshots.py for the README's pictures).

Playwright's own browser download cannot work here, so it launches the system Chromium; without one
(or without the playwright package) the browser tests skip, saying so loudly.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from helpers import auth

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
# Generous: the machine running the suite may be busy; expect() returns as soon as the page is right.
TIMEOUT_MS = 15_000
NETWORK_CHANGE_RELOADS = 3


def chromium_path() -> str | None:
    """The system Chromium: MEMORY_API_TEST_CHROMIUM if set, else the first on PATH."""
    explicit = os.environ.get("MEMORY_API_TEST_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return next(filter(None, map(shutil.which, CHROMIUM_CANDIDATES)), None)


def why_no_browser() -> str | None:
    """None when the browser tests can run; else why not, and how to fix it."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("BROWSER TESTS SKIPPED: the playwright package is missing. Install the test extra: "
                ".venv/bin/pip install -e '.[test]'")
    if chromium_path() is None:
        return ("BROWSER TESTS SKIPPED: no Chromium found (looked for chromium, chromium-browser on PATH, or "
                "MEMORY_API_TEST_CHROMIUM). Install it: apt-get install -y chromium (.ci/run does when root).")
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path())


@dataclass
class ConsolePage:
    """One browser tab on the console, recording what a test must see never happened."""

    page: object
    url: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[tuple[str, dict]] = field(default_factory=list)
    console_responses: list[tuple[str, dict]] = field(default_factory=list)

    @classmethod
    def open(cls, browser, base_url: str, **context_args) -> ConsolePage:
        context = browser.new_context(**context_args)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        tab = cls(page, base_url)

        def on_dialog(dialog):
            tab.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
        # An API answer of 4xx is logged by Chromium as a failed resource: expected where tests provoke one.
        page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
                and tab.errors.append(msg.text))
        page.on("request", lambda req: tab.requests.append((req.url, req.headers)))
        page.on("response", lambda res: "/console" in res.url and tab.console_responses.append(
            (res.url, res.headers)))
        # Chromium drops the requests in flight when the machine's network changes (another process adding an
        # interface or a network namespace), even on loopback: a module script lost so leaves a page without its
        # code. That is no fault of the console's, so the page is loaded again (a few times at most).
        lost: list[str] = []
        page.on("requestfailed", lambda req: "ERR_NETWORK_CHANGED" in (req.failure or "") and lost.append(req.url))
        for _ in range(NETWORK_CHANGE_RELOADS):
            lost.clear()
            try:
                page.goto(f"{base_url}/console")
            except Exception as exc:  # the page itself lost: the same, one level up
                if "ERR_NETWORK_CHANGED" not in str(exc):
                    raise
                lost.append(f"{base_url}/console")
            if not lost:
                break
        assert not lost, f"the network kept changing while the console loaded: {lost}"
        return tab

    @property
    def screen(self):
        """The screen on show (the others are hidden but hold fields of the same names)."""
        return self.page.locator("main > section:not([hidden])")

    def sign_in(self, key: str, user: str = "") -> None:
        from playwright.sync_api import expect

        page = self.page
        page.get_by_label("API key").fill(key)
        if user:
            page.get_by_label("Act for user").fill(user)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Memories", exact=True)).to_be_visible()

    def close(self) -> None:
        self.page.context.close()


def create(client, key, content, **fields):
    """A memory made through the API, behind the console's back."""
    response = client.post("/v1/memory", json={"content": content, **fields}, headers=auth(key))
    assert response.status_code == 200, response.json
    return response.json
