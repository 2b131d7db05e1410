"""Take the README's screenshots of the web console: docs/console/*.png.

    .venv/bin/python scripts/console_screenshots.py

Starts a private redis-server and the app (as the tests do; the tests' stand-in model provider proposes
one change, so a pending suggestion shows), fills it with an example user's memories through the API,
and photographs the main screens in the system Chromium (Playwright).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from console_browser import ConsolePage, launch, why_no_browser  # noqa: E402
from fake_llm import FakeLLM  # noqa: E402
from helpers import LiveServer, RedisServer, auth, with_provider  # noqa: E402

OUT = REPO / "docs" / "console"
SIZE = {"width": 1100, "height": 780}

MEMORIES = [
    ("Is vegetarian and allergic to peanuts.", ["diet", "health"], None, {"from": "onboarding"}),
    ("Prefers window seats on flights longer than two hours.", ["travel"], "travel", {}),
    ("Works as a nurse on night shifts; mornings are for sleeping.", ["work", "schedule"], None, {}),
    ("Learning Portuguese: answer in simple Portuguese when asked to practise.", ["language"], None, {}),
    ("Daughter Ana turns 7 on 14 March; likes dinosaurs.", ["family"], None, {"source": "chat"}),
    ("Runs 10 km on Saturdays along the river.", ["sport"], None, {}),
    ("Uses a Linux laptop with Python 3.12 and VS Code.", ["tech"], "work", {}),
    ("Wants reminders in 24-hour time, Lisbon time zone.", ["preferences"], None, {}),
]


def seed(client, key: str) -> dict[str, str]:
    """The example user's memories; returns some ids by name for the screens that show one."""
    ids = {}
    for content, tags, scope, metadata in MEMORIES:
        created = client.post("/v1/memory", json={"content": content, "tags": tags, "scope": scope,
                                                  "metadata": metadata}, headers=auth(key)).json
        ids[content.split()[0].lower()] = created["id"]
    coffee = client.post("/v1/memory", json={"content": "Drinks black coffee, no sugar.", "tags": ["diet"]},
                         headers=auth(key)).json["id"]
    for content in ("Drinks coffee with oat milk.", "Switched to green tea in the afternoon; coffee mornings only."):
        client.patch(f"/v1/memory/{coffee}", json={"content": content}, headers=auth(key))
    ids["coffee"] = coffee
    return ids


def suggest(client, key: str, fake_llm, memory_id: str) -> None:
    """Capture proposes changing a memory the user wrote: that waits as a suggestion."""
    fake_llm.extractions.append({"operations": [{
        "action": "update", "memory_id": memory_id, "content": "Is pescatarian and allergic to peanuts.",
        "reason": "said they eat fish again"}]})
    answer = client.post("/v1/memory/extract", headers=auth(key), json={"apply": True, "messages": [
        {"role": "user", "content": "I eat fish again, so I'm pescatarian now; still allergic to peanuts."}]})
    assert answer.json["results"][0]["status"] == "suggested", answer.json


def main() -> int:
    reason = why_no_browser()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    from playwright.sync_api import expect, sync_playwright

    from memory_api import create_app
    from memory_api.config import Settings
    from memory_api.services import Services

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, FakeLLM() as fake_llm:
        redis = RedisServer(Path(tmp) / "redis").start()
        settings = Settings(redis_url=redis.url, data_dir=str(Path(tmp) / "data"), log_level="WARNING",
                            access_log=False)
        services = Services.build(with_provider(settings, fake_llm))
        try:
            app = create_app(services.settings, services)
            client = app.test_client()
            key, _ = services.keys.create(user="maria")
            ids = seed(client, key)
            suggest(client, key, fake_llm, ids["is"])
            with LiveServer(app) as server, sync_playwright() as playwright:
                browser = launch(playwright)
                tab = ConsolePage.open(browser, server.url, viewport=SIZE, color_scheme="light")
                page, ui = tab.page, tab.screen
                tab.sign_in(key)
                shoot(page, "list")

                page.get_by_role("link", name="Search").click()
                ui.get_by_label("Query").fill("what should I cook for dinner")
                page.get_by_role("button", name="Search", exact=True).click()
                expect(page.locator("#search-results > li").first).to_be_visible()
                shoot(page, "search")

                page.get_by_role("link", name="Context").click()
                ui.get_by_label("Message").fill("Any ideas for a quick dinner tonight?")
                ui.get_by_label("Max words").fill("60")
                page.get_by_role("button", name="Preview").click()
                expect(page.locator("#context-result")).to_be_visible()
                shoot(page, "context")

                page.goto(f"{server.url}/console#/history/{ids['coffee']}")
                expect(page.get_by_text("2 previous versions.")).to_be_visible()
                shoot(page, "history")

                page.goto(f"{server.url}/console#/edit/{ids['runs']}")
                expect(ui.get_by_label("Content")).to_have_value(MEMORIES[5][0])
                client.patch(f"/v1/memory/{ids['runs']}", json={"content": "Runs 12 km on Saturdays along the river."},
                             headers=auth(key))
                ui.get_by_label("Content").fill("Runs 10 km on Sundays now.")
                page.get_by_role("button", name="Save").click()
                expect(page.locator("#conflict")).to_be_visible()
                shoot(page, "edit-conflict", full_page=True)

                page.get_by_role("link", name="Activity").click()
                expect(page.locator("#event-list > li").first).to_be_visible()
                shoot(page, "activity")

                phone = ConsolePage.open(browser, server.url, viewport={"width": 390, "height": 780},
                                         color_scheme="dark")
                phone.sign_in(key)
                shoot(phone.page, "list-phone-dark")
                phone.close()
                tab.close()
                browser.close()
        finally:
            services.close()
            redis.stop()
    return 0


def shoot(page, name: str, full_page: bool = False) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring in the picture
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    sys.exit(main())
