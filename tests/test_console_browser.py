"""The web console end to end in a real browser (Debian's Chromium, driven by Playwright): sign-in, the
memory list and its paging, create/edit/delete with If-Match, search, history, context preview, activity,
export/import, and a hostile memory that must stay text.

The console talks to the app over real HTTP (live_server); the test changes data behind its back through
the API, as another tab would. Playwright's expect() waits for the page to show what it must.
"""

from __future__ import annotations

import re

import pytest
from console_browser import TIMEOUT_MS, ConsolePage, create, why_no_browser
from helpers import REQUIRE_ALL, LiveServer, auth, with_provider

if why_no_browser() and not REQUIRE_ALL:  # under MEMORY_API_TEST_REQUIRE_ALL=1 each test fails instead
    pytest.skip(why_no_browser(), allow_module_level=True)

from playwright.sync_api import expect

expect.set_options(timeout=TIMEOUT_MS)

XSS = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2; alert(1)"> hostile'


def test_sign_in_lists_memories_and_the_key_stays_out_of_urls_and_cookies(open_console, client, make_key):
    key = make_key("alice")
    create(client, key, "Prefers window seats")
    tab = open_console()
    tab.sign_in(key)
    expect(tab.page.get_by_text("Prefers window seats")).to_be_visible()
    assert tab.page.evaluate("sessionStorage.getItem('memory-api.key')") == key
    assert tab.page.context.cookies() == []
    assert all(key not in url for url, _ in tab.requests)
    api_calls = [headers for url, headers in tab.requests if "/v1/" in url]
    assert api_calls and all(h.get("authorization") == f"Bearer {key}" for h in api_calls)
    tab.page.get_by_role("button", name="Sign out").click()
    expect(tab.screen.get_by_label("API key")).to_be_visible()
    assert tab.page.evaluate("sessionStorage.length") == 0


def test_a_wrong_key_is_told_so_and_stays_signed_out(open_console):
    tab = open_console()
    tab.screen.get_by_label("API key").fill("sk-not-a-real-key")
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("alert")).to_have_text("Incorrect API key provided.")
    expect(tab.screen.get_by_label("API key")).to_be_visible()
    assert tab.page.evaluate("sessionStorage.length") == 0


def test_a_service_key_acts_for_the_user_it_names(open_console, client, make_key):
    create(client, make_key("bob"), "Bob's memory")
    create(client, make_key("carol"), "Carol's memory")
    service_key = make_key(service="backend")
    tab = open_console()
    tab.screen.get_by_label("API key").fill(service_key)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("alert")).to_contain_text("A service key must name the end user it acts for")
    expect(tab.screen.get_by_label("Act for user")).to_be_focused()
    tab.sign_in(service_key, user="bob")
    expect(tab.page.get_by_text("Bob's memory")).to_be_visible()
    expect(tab.page.get_by_text("Carol's memory")).to_have_count(0)
    expect(tab.page.get_by_text("Acting for bob")).to_be_visible()


def test_create_edit_and_delete(open_console, client, make_key):
    key = make_key("alice")
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    page.get_by_role("link", name="New memory").click()
    ui.get_by_label("Content").fill("Lives in Lisbon")
    ui.get_by_label("Tags").fill("home, city")
    ui.get_by_label("Scope").fill("travel")
    ui.get_by_label("Metadata").fill('{"from": "console"}')
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Memory created.")
    [stored] = client.get("/v1/memory", headers=auth(key)).json["data"]
    assert (stored["content"], sorted(stored["tags"]), stored["scope"], stored["metadata"]) == (
        "Lives in Lisbon", ["city", "home"], "travel", {"from": "console"})

    page.get_by_role("link", name="Edit: Lives in Lisbon").click()
    expect(ui.get_by_label("Content")).to_have_value("Lives in Lisbon")
    ui.get_by_label("Content").fill("Lives in Porto")
    ui.get_by_label("Scope").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Memory saved.")
    expect(page.get_by_text("Lives in Porto")).to_be_visible()
    updated = client.get(f"/v1/memory/{stored['id']}", headers=auth(key)).json
    assert (updated["content"], updated["scope"]) == ("Lives in Porto", None)

    page.get_by_role("link", name="Edit: Lives in Porto").click()
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Memory deleted.")
    expect(page.get_by_text("No memories yet.")).to_be_visible()
    assert client.get(f"/v1/memory/{stored['id']}", headers=auth(key)).status_code == 404


def test_an_edit_that_lost_a_race_shows_the_newer_version_and_overwrites_nothing(open_console, client, make_key):
    key = make_key("alice")
    memory = create(client, key, "Drinks tea")
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    page.get_by_role("link", name="Edit: Drinks tea").click()
    expect(ui.get_by_label("Content")).to_have_value("Drinks tea")
    # Another tab saves first.
    other = client.patch(f"/v1/memory/{memory['id']}", json={"content": "Drinks green tea"}, headers=auth(key))
    assert other.status_code == 200
    ui.get_by_label("Content").fill("Drinks coffee")
    page.get_by_role("button", name="Save").click()
    conflict = page.get_by_role("region", name="Someone changed this memory since you opened it")
    expect(conflict).to_be_visible()
    expect(conflict.get_by_text("Drinks green tea")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("has changed")
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).json["content"] == "Drinks green tea"
    # Having seen it, the person may still choose their own version.
    page.get_by_role("button", name="Save mine over it").click()
    expect(page.get_by_role("status")).to_have_text("Memory saved.")
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).json["content"] == "Drinks coffee"


def test_a_delete_that_lost_a_race_deletes_nothing(open_console, client, make_key):
    key = make_key("alice")
    memory = create(client, key, "Owns a bike")
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    page.get_by_role("link", name="Edit: Owns a bike").click()
    expect(ui.get_by_label("Content")).to_have_value("Owns a bike")
    client.patch(f"/v1/memory/{memory['id']}", json={"content": "Owns two bikes"}, headers=auth(key))
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("region", name=re.compile("Someone changed")).get_by_text("Owns two bikes")).to_be_visible()
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).status_code == 200


def test_search_in_the_mode_chosen(open_console, client, make_key):
    key = make_key("alice")
    create(client, key, "Loves espresso coffee")
    create(client, key, "Plays the cello")
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    page.get_by_role("link", name="Search").click()
    ui.get_by_label("Query").fill("coffee")
    ui.get_by_label("Mode").select_option("keyword")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("1 result (keyword search).")).to_be_visible()
    results = page.locator("#search-results")
    expect(results.get_by_text("Loves espresso coffee")).to_be_visible()
    expect(results.get_by_text("Plays the cello")).to_have_count(0)


def test_load_more_pages_past_100_memories_newest_or_oldest_first(open_console, client, make_key):
    key = make_key("alice")
    for start in (0, 100):
        batch = [{"content": f"Memory number {i}"} for i in range(start, min(start + 100, 105))]
        assert client.post("/v1/memory/batch", json={"memories": batch}, headers=auth(key)).status_code == 200
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    cards = page.locator("#memory-list > li")
    more = page.get_by_role("button", name="Load more")
    expect(cards).to_have_count(20)
    while more.is_visible():
        shown = cards.count()
        more.click()
        expect(cards).not_to_have_count(shown)
    expect(cards).to_have_count(105)
    expect(page.get_by_text("105 of 105 memories shown.")).to_be_visible()
    contents = page.locator("#memory-list .content").all_text_contents()
    assert len(set(contents)) == 105 and contents[0] == "Memory number 104"
    page.get_by_text("Filters and order").click()
    ui.get_by_label("Order").select_option("asc")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#memory-list .content").first).to_have_text("Memory number 0")


def test_filters_by_tag_scope_and_source(open_console, client, make_key):
    key = make_key("alice")
    create(client, key, "Tagged work", tags=["work"])
    create(client, key, "Scoped trip", scope="travel")
    create(client, key, "Plain one")
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    page.get_by_text("Filters and order").click()
    ui.get_by_label("Tag", exact=True).fill("work")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#memory-list .content")).to_have_text(["Tagged work"])
    ui.get_by_label("Tag", exact=True).fill("")
    ui.get_by_label("Scope", exact=True).fill("travel")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#memory-list .content")).to_have_text(["Scoped trip"])
    ui.get_by_label("Scope", exact=True).fill("")
    ui.get_by_label("Source").select_option("import")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No memories match.")).to_be_visible()


def test_history_restores_an_older_version(open_console, client, make_key):
    key = make_key("alice")
    memory = create(client, key, "Version one")
    for content in ("Version two", "Version three"):
        client.patch(f"/v1/memory/{memory['id']}", json={"content": content}, headers=auth(key))
    tab = open_console()
    page = tab.page
    tab.sign_in(key)
    page.get_by_role("link", name="History: Version three").click()
    expect(page.get_by_text("2 previous versions.")).to_be_visible()
    page.get_by_role("button", name="Restore revision 1").click()
    expect(page.get_by_role("status")).to_have_text("Restored revision 1 as the current version.")
    expect(page.locator("#history-current .content")).to_have_text("Version one")
    expect(page.get_by_text("3 previous versions.")).to_be_visible()
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).json["content"] == "Version one"


def test_context_preview_shows_the_block_and_its_counts_against_the_caps(open_console, client, make_key, settings):
    key = make_key("alice")
    create(client, key, "Is allergic to peanuts")
    create(client, key, "Works as a nurse in a very large city hospital on night shifts")
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    page.get_by_role("link", name="Context").click()
    expect(ui.get_by_label("Max words")).to_have_value(str(settings.max_words))
    ui.get_by_label("Message").fill("am I allergic to anything, and do I work nights?")
    page.get_by_role("button", name="Preview").click()
    expected = client.post("/v1/memory/context", json={"query": "am I allergic to anything, and do I work nights?"},
                           headers=auth(key)).json
    assert len(expected["memory_ids"]) == 2
    expect(page.locator("#context-text")).to_have_text(expected["text"])
    expect(page.locator("#context-words")).to_have_text(f"{expected['word_count']} of {settings.max_words}")
    expect(page.locator("#context-tokens")).to_have_text(f"{expected['token_count']} of {settings.max_tokens}")
    # A tight cap leaves the longer memory out, and says so.
    ui.get_by_label("Max words").fill("6")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#context-omitted")).to_have_text("1")
    expect(page.locator("#context-text")).to_contain_text("peanuts")
    expect(page.locator("#context-text")).not_to_contain_text("nurse")


def test_a_hostile_memory_renders_as_inert_text(open_console, client, make_key):
    key = make_key("alice")
    memory = create(client, key, XSS, metadata={"<b>note</b>": "<img src=y onerror=alert(2)>"})
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    expect(page.locator("#memory-list .content")).to_have_text(XSS)
    expect(page.locator("#memory-list .metadata")).to_have_text("<b>note</b><img src=y onerror=alert(2)>")
    page.get_by_role("link", name="Search").click()
    ui.get_by_label("Query").fill("hostile")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#search-results .content")).to_have_text(XSS)
    page.goto(f"{tab.url}/console#/history/{memory['id']}")
    expect(page.locator("#history-current .content")).to_have_text(XSS)
    page.goto(f"{tab.url}/console#/edit/{memory['id']}")
    expect(ui.get_by_label("Content")).to_have_value(XSS)
    assert page.locator("main img, main script, main b").count() == 0
    assert page.evaluate("window.pwned") is None
    assert tab.dialogs == []


def test_activity_feed_and_suggestions(browser, settings, fake_llm, make_key):
    from memory_api import create_app
    from memory_api.services import Services

    svc = Services.build(with_provider(settings, fake_llm))
    try:
        app = create_app(svc.settings, svc)
        client = app.test_client()
        key = make_key("alice")
        mine = create(client, key, "Eats meat")
        fake_llm.extractions.append({"operations": [
            {"action": "update", "memory_id": mine["id"], "content": "Is vegetarian", "reason": "said so"}]})
        extract = client.post("/v1/memory/extract", json={"apply": True, "messages": [
            {"role": "user", "content": "I stopped eating meat, I am vegetarian now."}]}, headers=auth(key))
        assert extract.status_code == 200 and extract.json["results"][0]["status"] == "suggested", extract.json
        with LiveServer(app) as server:
            tab = ConsolePage.open(browser, server.url)
            page = tab.page
            tab.sign_in(key)
            page.get_by_role("link", name="Activity").click()
            expect(page.locator("#event-list")).to_contain_text("created")
            expect(page.locator("#suggestion-list .content")).to_have_text("Is vegetarian")
            page.get_by_role("button", name="Accept").click()
            expect(page.get_by_role("status")).to_have_text("Suggestion accepted.")
            expect(page.get_by_text("None waiting.")).to_be_visible()
            page.reload()  # the feed now holds the accepted change too
            expect(page.locator("#event-list > li")).to_have_count(2)
            tab.close()
            assert tab.errors == []
        assert client.get(f"/v1/memory/{mine['id']}", headers=auth(key)).json["content"] == "Is vegetarian"
    finally:
        svc.close()


def test_export_downloads_and_import_restores(open_console, client, make_key, tmp_path):
    key = make_key("alice")
    create(client, key, "Kept in the export", tags=["backup"])
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    page.get_by_role("link", name="Stats & data").click()
    expect(page.get_by_role("button", name="Show memories tagged backup (1)")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download export").click()
    saved = tmp_path / "memories.jsonl"
    download.value.save_as(saved)
    assert "Kept in the export" in saved.read_text()
    client.delete("/v1/memory?confirm=true", headers=auth(key))
    ui.get_by_label("Export file (JSON Lines)").set_input_files(str(saved))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-result")).to_have_text("Imported 1: 1 created, 0 overwritten, 0 skipped.")
    assert [m["content"] for m in client.get("/v1/memory", headers=auth(key)).json["data"]] == ["Kept in the export"]


def test_every_console_response_carries_the_policy(open_console, make_key):
    tab = open_console()
    tab.sign_in(make_key("alice"))
    loaded = {url.split("/console", 1)[1] for url, _ in tab.console_responses}
    assert {"", "/static/app.js", "/static/console.css", "/static/api.js", "/static/dom.js"} <= loaded
    for url, headers in tab.console_responses:
        assert "frame-ancestors 'none'" in headers["content-security-policy"], url
        assert headers["x-content-type-options"] == "nosniff", url


def test_the_page_works_at_phone_width_in_dark_mode(open_console, client, make_key):
    key = make_key("alice")
    create(client, key, "Readable on a phone")
    tab = open_console(viewport={"width": 375, "height": 740}, color_scheme="dark")
    tab.sign_in(key)
    page = tab.page
    expect(page.get_by_text("Readable on a phone")).to_be_visible()
    # Nothing wider than the screen, and the text is light on dark.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    text, background = (sum(map(int, re.findall(r"\d+", page.evaluate(f"getComputedStyle(document.body).{prop}"))))
                        for prop in ("color", "backgroundColor"))
    assert text > 600 and background < 150, (text, background)
    # The keyboard reaches the navigation, and focus shows.
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_a_memory_can_be_written_with_the_keyboard_alone(open_console, client, make_key):
    key = make_key("alice")
    tab = open_console()
    page = tab.page
    expect(tab.screen.get_by_label("API key")).to_be_focused()  # the page starts where the work does
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Memories", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="New memory")).to_be_focused()
    page.keyboard.press("Enter")
    expect(tab.screen.get_by_label("Content")).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Tab")
    expect(tab.screen.get_by_label("Tags")).to_be_focused()
    page.keyboard.type("keyboard")
    page.keyboard.press("Enter")  # submits the form
    expect(page.get_by_role("status")).to_have_text("Memory created.")
    [stored] = client.get("/v1/memory", headers=auth(key)).json["data"]
    assert (stored["content"], stored["tags"]) == ("Typed without a mouse", ["keyboard"])


def test_times_are_shown_editable_and_past_memories_can_be_hidden(open_console, client, make_key):
    key = make_key("alice")
    moved = create(client, key, "Lives in Berlin", occurred_at=1_682_899_200)  # 1 May 2023
    create(client, key, "Lives in Manchester", occurred_at=1_614_556_800, valid_until=1_682_899_200)
    tab = open_console()
    page = tab.page
    ui = tab.screen
    tab.sign_in(key)
    old = page.locator("#memory-list li.card", has_text="Lives in Manchester")
    expect(old).to_contain_text("past: no longer holds since 1 May 2023")
    expect(old).to_have_class(re.compile(r"\bpast\b"))
    expect(page.locator("#memory-list li.card", has_text="Lives in Berlin")).to_contain_text("happened 1 May 2023")

    page.get_by_text("Filters and order").click()
    ui.get_by_label("Time").select_option("holding")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#memory-list .content")).to_have_text(["Lives in Berlin"])

    # Edit: the untouched occurred_at keeps its second; a chosen expiry day means the end of that day (UTC)
    page.get_by_role("link", name="Edit: Lives in Berlin").click()
    expect(ui.get_by_label("Happened on")).to_have_value("2023-05-01")
    ui.get_by_label("Content").fill("Lives in Berlin, Kreuzberg")
    ui.get_by_label("Forget after").fill("2099-01-31")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Memory saved.")
    stored = client.get(f"/v1/memory/{moved['id']}", headers=auth(key)).json
    assert (stored["occurred_at"], stored["expires_at"], stored["valid_until"]) == (1_682_899_200, 4_073_587_200, None)
    # and a cleared field clears it
    page.get_by_role("link", name="Edit: Lives in Berlin, Kreuzberg").click()
    expect(ui.get_by_label("Forget after")).to_have_value("2099-01-31")
    ui.get_by_label("Forget after").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Memory saved.")
    assert client.get(f"/v1/memory/{moved['id']}", headers=auth(key)).json["expires_at"] is None
