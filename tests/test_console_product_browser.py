"""The console as a product (issue 26), end to end in Debian's Chromium (Playwright): a dense list with the
total count, the search box on the list, delete in one click with an undo, select several and delete, delete all
behind a typed confirmation (in a space: its admins only), an activity feed that shows what changed, and the
signed-in user in the header. expect() waits for the page to show what it must (tests/test_console_browser.py);
the API, called behind the console's back, says what was really stored.
"""

from __future__ import annotations

import re

import pytest
from console_browser import TIMEOUT_MS, ConsolePage, create, why_no_browser
from helpers import REQUIRE_ALL, auth

if why_no_browser() and not REQUIRE_ALL:  # under MEMORY_API_TEST_REQUIRE_ALL=1 each test fails instead
    pytest.skip(why_no_browser(), allow_module_level=True)

from playwright.sync_api import expect

expect.set_options(timeout=TIMEOUT_MS)


def contents(client, key, **query) -> list[str]:
    return [m["content"] for m in client.get("/v1/memory", query_string=query, headers=auth(key)).json["data"]]


def new_space(client, key, name="Team") -> str:
    resp = client.post("/v1/spaces", json={"name": name}, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json["id"]


def add_member(client, space, admin_key, user, role):
    resp = client.post(f"/v1/spaces/{space}/members", json={"user": user, "role": role}, headers=auth(admin_key))
    assert resp.status_code == 200, resp.json


def switch(tab: ConsolePage, label: str) -> None:
    """Choose `label` ("Team (admin)") in the header's switcher, and wait for that space's list."""
    select = tab.page.get_by_label("Space", exact=True)
    select.focus()  # which fetches the spaces anew
    expect(select.locator("option", has_text=label)).to_have_count(1)
    select.select_option(label=label)
    tab.page.get_by_role("button", name="Switch").click()
    expect(tab.page.locator("#space-banner")).to_be_visible()


ROWS = "#memory-list > li"


def test_the_list_is_dense_and_says_the_total(open_console, client, make_key):
    key = make_key("alice")
    batch = [{"content": f"Memory number {i}", "tags": ["even" if i % 2 == 0 else "odd"]} for i in range(30)]
    assert client.post("/v1/memory/batch", json={"memories": batch}, headers=auth(key)).status_code == 200
    tab = open_console(viewport={"width": 1280, "height": 800})
    page = tab.page
    tab.sign_in(key)
    expect(page.locator(ROWS)).to_have_count(20)
    expect(page.locator("#memories-count")).to_have_text("20 of 30 memories shown.")
    # Dense: at least 12 rows fit on a laptop's screen (the cards of before showed 4.5).
    heights = page.locator(ROWS).evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert max(heights) * 12 < 800, heights
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("#memories-count")).to_have_text("30 of 30 memories shown.")
    # Filtered: how many match, and still the total
    page.get_by_text("Filters and order").click()
    tab.screen.get_by_label("Tag", exact=True).fill("odd")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#memories-count")).to_have_text("15 matching memories shown. 30 memories in all.")


def test_the_count_is_the_spaces_in_a_space(open_console, client, make_key):
    alice = make_key("alice")
    space = new_space(client, alice)
    for i in range(3):
        create(client, alice, f"Team note {i}", space=space)
    create(client, alice, "Alice's own note")
    tab = open_console()
    page = tab.page
    tab.sign_in(alice)
    expect(page.locator("#memories-count")).to_have_text("1 of 1 memory shown.")
    with page.expect_response(lambda r: "/v1/memory/stats?space=" in r.url):
        switch(tab, "Team (admin)")
    expect(page.locator("#memories-count")).to_have_text("3 of 3 memories shown.")


def test_the_list_page_searches(open_console, client, make_key):
    key = make_key("alice")
    create(client, key, "Loves espresso coffee")
    create(client, key, "Plays the cello")
    create(client, key, "Walks the dog at seven")
    tab = open_console()
    page = tab.page
    tab.sign_in(key)
    expect(page.locator(ROWS)).to_have_count(3)
    search = page.get_by_role("searchbox", name="Search memories")
    search.fill("espresso")
    search.press("Enter")
    expect(page.locator("#memory-list .content")).to_have_text(["Loves espresso coffee"])
    expect(page.locator("#memories-count")).to_have_text("1 result for “espresso”. 3 memories in all.")
    # A result is a row like any other: deleted from here in one click
    expect(page.get_by_role("button", name="Delete: Loves espresso coffee")).to_be_visible()
    page.get_by_role("button", name="Clear search").click()
    expect(search).to_be_focused()
    expect(page.locator(ROWS)).to_have_count(3)
    expect(page.locator("#memories-count")).to_have_text("3 of 3 memories shown.")


def test_delete_takes_one_click_and_undo_brings_it_back(open_console, client, make_key):
    key = make_key("alice")
    create(client, key, "First one")
    doomed = create(client, key, "Second one")
    create(client, key, "Third one")
    tab = open_console()
    page = tab.page
    tab.sign_in(key)
    page.get_by_role("button", name="Delete: Second one").click()
    expect(page.get_by_role("status")).to_have_text("Deleted “Second one”.")
    expect(page.locator("#memory-list .content")).to_have_text(["Third one", "First one"])
    expect(page.locator("#memories-count")).to_have_text("2 of 2 memories shown.")
    # Focus goes on to the next row's Delete: several deletes, one key each
    expect(page.get_by_role("button", name="Delete: First one")).to_be_focused()
    assert client.get(f"/v1/memory/{doomed['id']}", headers=auth(key)).status_code == 404

    page.get_by_role("button", name="Undo: Deleted “Second one”.").click()
    expect(page.get_by_role("status")).to_have_text("Restored the memory.")
    expect(page.locator("#memory-list .content")).to_have_text(["Third one", "Second one", "First one"])
    expect(page.get_by_role("checkbox", name="Select: Second one")).to_be_focused()
    expect(page.get_by_role("button", name=re.compile("^Undo"))).to_be_hidden()
    assert client.get(f"/v1/memory/{doomed['id']}", headers=auth(key)).json["content"] == "Second one"


def test_select_several_and_delete_them(open_console, client, make_key):
    key = make_key("alice")
    for name in ("One", "Two", "Three", "Four"):
        create(client, key, name)
    tab = open_console()
    page = tab.page
    tab.sign_in(key)
    selected = page.get_by_role("button", name=re.compile("^Delete selected"))
    expect(selected).to_be_disabled()
    page.get_by_role("checkbox", name="Select: Two").check()
    page.get_by_role("checkbox", name="Select: Four").check()
    expect(selected).to_have_text("Delete selected (2)")
    with page.expect_request(lambda r: r.url.endswith("/v1/memory/batch_delete")) as sent:
        selected.click()
    assert sent.value.post_data_json["ids"] and "space" not in {k for k, v in sent.value.post_data_json.items() if v}
    expect(page.get_by_role("status")).to_have_text("Deleted 2 memories.")
    expect(page.locator("#memory-list .content")).to_have_text(["Three", "One"])
    expect(page.get_by_role("button", name="Undo: Deleted 2 memories.")).to_be_focused()
    assert contents(client, key) == ["Three", "One"]

    page.get_by_role("checkbox", name="Select all shown").check()
    expect(selected).to_have_text("Delete selected (2)")
    page.get_by_role("checkbox", name="Select: One").uncheck()
    expect(page.get_by_role("checkbox", name="Select all shown")).not_to_be_checked()
    expect(selected).to_have_text("Delete selected (1)")
    selected.click()
    expect(page.get_by_role("status")).to_have_text("Deleted 1 memory.")
    expect(page.locator("#memory-list .content")).to_have_text(["One"])
    page.get_by_role("button", name="Undo: Deleted 1 memory.").press("Enter")
    expect(page.locator("#memory-list .content")).to_have_text(["Three", "One"])
    assert contents(client, key) == ["Three", "One"]


def test_delete_all_asks_for_the_words_typed(open_console, client, make_key):
    key = make_key("alice")
    for name in ("One", "Two", "Three"):
        create(client, key, name)
    tab = open_console()
    page = tab.page
    tab.sign_in(key)
    expect(page.locator(ROWS)).to_have_count(3)
    page.get_by_role("button", name="Delete all…").click()
    region = page.get_by_role("region", name="Delete all your memories")
    expect(region).to_contain_text("This deletes all 3 of your memories.")
    confirm = region.get_by_label("Type delete all to confirm")
    expect(confirm).to_be_focused()
    go = region.get_by_role("button", name="Delete all memories")
    expect(go).to_be_disabled()
    confirm.fill("delete")
    expect(go).to_be_disabled()
    region.get_by_role("button", name="Cancel").click()
    expect(region).to_be_hidden()
    expect(page.get_by_role("button", name="Delete all…")).to_be_focused()
    assert len(contents(client, key)) == 3

    page.get_by_role("button", name="Delete all…").click()
    confirm.fill("Delete all")
    go.click()
    expect(page.get_by_role("status")).to_have_text("Deleted all 3 memories.")
    expect(page.locator("#memories-count")).to_have_text("No memories yet.")
    assert contents(client, key) == []


def test_delete_all_in_a_space_is_for_its_admins_and_only_its_memories(open_console, client, make_key):
    alice, bob = make_key("alice"), make_key("bob")
    space = new_space(client, alice)
    add_member(client, space, alice, "bob", "writer")
    create(client, alice, "Team note", space=space)
    create(client, bob, "Team note by bob", space=space)
    create(client, alice, "Alice's own note")
    writer = open_console()
    writer.sign_in(bob)
    switch(writer, "Team (writer)")
    expect(writer.page.locator(ROWS)).to_have_count(2)
    expect(writer.page.get_by_role("button", name="Delete selected")).to_be_visible()  # a writer deletes rows
    expect(writer.page.get_by_role("button", name="Delete all…")).to_be_hidden()  # not all of them

    tab = open_console()
    page = tab.page
    tab.sign_in(alice)
    switch(tab, "Team (admin)")
    expect(page.locator(ROWS)).to_have_count(2)
    page.get_by_role("button", name="Delete all…").click()
    region = page.get_by_role("region", name="Delete all memories of Team")
    expect(region).to_contain_text("This deletes all 2 memories of the space Team, for every member.")
    region.get_by_label("Type delete all to confirm").fill("delete all")
    with page.expect_request(lambda r: r.method == "DELETE") as sent:
        region.get_by_role("button", name="Delete all memories").click()
    assert f"space={space}" in sent.value.url and "confirm=true" in sent.value.url
    expect(page.get_by_role("status")).to_have_text("Deleted all 2 memories of Team.")
    assert contents(client, alice, space=space) == []
    assert contents(client, alice) == ["Alice's own note"]


def test_the_activity_feed_shows_what_changed(open_console, client, make_key):
    key = make_key("alice")
    memory = create(client, key, "Drinks tea")
    edited = client.patch(f"/v1/memory/{memory['id']}", json={"content": "Drinks green tea"}, headers=auth(key))
    assert edited.status_code == 200
    assert client.patch(f"/v1/memory/{memory['id']}", json={"tags": ["diet"]}, headers=auth(key)).status_code == 200
    gone = create(client, key, "Lives in Leeds")
    assert client.delete(f"/v1/memory/{gone['id']}", headers=auth(key)).status_code == 200
    tab = open_console()
    page = tab.page
    tab.sign_in(key)
    page.get_by_role("link", name="Activity").click()
    events = page.locator("#event-list > li")
    expect(events).to_have_count(5)  # newest first
    expect(events.nth(0)).to_contain_text("deleted")
    expect(events.nth(0)).to_contain_text("What it held went with it.")
    expect(events.nth(1)).to_contain_text("Deleted since: its versions went with it.")
    expect(events.nth(2)).to_contain_text("Content unchanged; tags none → diet.")
    expect(events.nth(3).locator(".before")).to_have_text("Before: Drinks tea")
    expect(events.nth(3).locator(".after")).to_have_text("After: Drinks green tea")
    expect(events.nth(4)).to_contain_text("Content: Drinks tea")
    events.nth(3).get_by_role("link", name=f"History of {memory['id']}").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()


def test_the_header_says_who_is_signed_in(open_console, client, make_key):
    alice = make_key("alice")
    service = make_key(service="backend")
    tab = open_console()
    page = tab.page
    tab.sign_in(alice)
    who = page.locator("#session-who")
    expect(who).to_have_text("Signed in as alice")
    page.get_by_role("button", name="Sign out").click()
    tab.sign_in(service, user="bob")
    expect(who).to_have_text("Acting for bob (service key backend)")
    page.get_by_role("link", name="Activity").click()  # asked once per sign-in, not per screen
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()
    assert sum(url.endswith("/v1/me") for url, _ in tab.requests) == 2


def test_the_list_works_at_phone_width(open_console, client, make_key):
    key = make_key("alice")
    create(client, key, "A memory long enough to wrap on a phone screen, " * 3, tags=["one", "two"])
    create(client, key, "Short")
    tab = open_console(viewport={"width": 375, "height": 740})
    page = tab.page
    tab.sign_in(key)
    expect(page.locator(ROWS)).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    expect(page.get_by_role("searchbox", name="Search memories")).to_be_visible()
    page.get_by_role("checkbox", name="Select: Short").check()
    expect(page.get_by_role("button", name="Delete selected (1)")).to_be_visible()
    page.get_by_role("button", name="Delete: Short").click()
    expect(page.get_by_role("status")).to_have_text("Deleted “Short”.")
    expect(page.locator(ROWS)).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
