"""Shared spaces in the web console, end to end in Debian's Chromium (Playwright): the space switcher (a
space's memories with their authors, in the list, search, the create form and the feed), a reader who gets
no write controls, the members page (add, change, remove, inject, leave, rename, delete with a typed name),
and a removed member's console, which must say the space is gone and go back to the person's own memories.

Other members act through the API behind the console's back, as they would from their own tabs. expect()
waits for the page to show what it must (tests/test_console_browser.py).
"""

from __future__ import annotations

import re

import pytest
from console_browser import TIMEOUT_MS, ConsolePage, why_no_browser
from helpers import REQUIRE_ALL, auth

if why_no_browser() and not REQUIRE_ALL:  # under MEMORY_API_TEST_REQUIRE_ALL=1 each test fails instead
    pytest.skip(why_no_browser(), allow_module_level=True)

from playwright.sync_api import expect

expect.set_options(timeout=TIMEOUT_MS)

GONE = re.compile(r"The space “(.+)” is gone: you are no longer a member of it \(you were removed, or it was "
                  r"deleted\)\. Showing your own memories\.")


@pytest.fixture
def people(make_key):
    """Each person's key and auth headers."""
    keys = {name: make_key(name) for name in ("alice", "bob", "carol")}
    return {name: (key, auth(key)) for name, key in keys.items()}


def new_space(client, who, name="Support team") -> str:
    resp = client.post("/v1/spaces", json={"name": name}, headers=who)
    assert resp.status_code == 200, resp.json
    return resp.json["id"]


def add(client, space, admin, user, role):
    resp = client.post(f"/v1/spaces/{space}/members", json={"user": user, "role": role}, headers=admin)
    assert resp.status_code == 200, resp.json


def remember(client, who, content, space=None):
    resp = client.post("/v1/memory", json={"content": content, **({"space": space} if space else {})}, headers=who)
    assert resp.status_code == 200, resp.json
    return resp.json


def members(client, space, who):
    return {m["user"]: m for m in client.get(f"/v1/spaces/{space}/members", headers=who).json["data"]}


def space_loaded(tab: ConsolePage):
    """Waits (as a context manager) for the last answer a space's list screen loads: its tags."""
    return tab.page.expect_response(lambda r: "/v1/memory/tags?space=" in r.url)


def switch(tab: ConsolePage, label: str) -> None:
    """Choose `label` ("My memories", "Team (writer)") in the header's switcher."""
    select = tab.page.get_by_label("Space", exact=True)
    select.focus()  # which fetches the spaces anew
    expect(select.locator("option", has_text=label)).to_have_count(1)
    select.select_option(label=label)
    tab.page.get_by_role("button", name="Switch").click()


def test_the_switcher_shows_a_space_and_its_memories_with_their_authors(open_console, client, people):
    alice_key, alice = people["alice"]
    space = new_space(client, alice)
    add(client, space, alice, "bob", "writer")
    remember(client, people["bob"][1], "The customer prefers email", space)
    remember(client, alice, "Alice's own note")
    tab = open_console()
    page = tab.page
    tab.sign_in(alice_key)
    cards = page.locator("#memory-list li.card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Alice's own note")
    expect(page.locator("#space-banner")).to_be_hidden()

    switch(tab, "Support team (admin)")
    expect(page.get_by_role("heading", name="Memories in Support team")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Showing the space Support team, where you are an admin.")
    expect(page.locator("#space-banner")).to_have_text("In the space Support team, as an admin. Members")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("The customer prefers email")
    expect(cards.first).to_contain_text("by bob")

    # The create form writes into the space, as the person signed in
    page.get_by_role("link", name="New memory").click()
    expect(page.get_by_role("heading", name="New memory in Support team")).to_be_visible()
    tab.screen.get_by_label("Content").fill("Escalations go to Dana")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Memory created.")
    expect(cards).to_have_count(2)
    expect(page.locator("#memory-list li.card", has_text="Escalations go to Dana")).to_contain_text("by alice")
    shared = client.get(f"/v1/memory?space={space}", headers=alice).json["data"]
    assert [(m["content"], m["space"], m["author"]) for m in shared] == [
        ("Escalations go to Dana", space, "alice"), ("The customer prefers email", space, "bob")]
    assert [m["content"] for m in client.get("/v1/memory", headers=alice).json["data"]] == ["Alice's own note"]

    # Search looks in the space only
    page.get_by_role("link", name="Search").click()
    tab.screen.get_by_label("Query").fill("email note")
    tab.screen.get_by_label("Mode").select_option("keyword")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("1 result (keyword search).")).to_be_visible()
    expect(page.locator("#search-results li.card")).to_contain_text("by bob")

    # The activity feed is the space's, each change with its author; the person's suggestions are not shown
    page.get_by_role("link", name="Activity").click()
    events = page.locator("#event-list > li")
    expect(events).to_have_count(2)
    expect(events.first).to_contain_text("by alice")
    expect(events.last).to_contain_text("by bob")
    expect(page.get_by_role("heading", name="Pending suggestions")).to_be_hidden()

    # Back to the person's own memories, on the screen they are on; the search above is not left showing
    page.get_by_role("link", name="Search").click()
    switch(tab, "My memories")
    expect(page.get_by_role("status")).to_have_text("Showing your own memories.")
    expect(page.locator("#search-results li")).to_have_count(0)
    page.get_by_role("link", name="Memories", exact=True).click()
    expect(page.get_by_role("heading", name="Memories", exact=True)).to_be_visible()
    expect(page.locator("#memory-list .content")).to_have_text(["Alice's own note"])
    # every memory call in the space named it
    listed = [url for url, _ in tab.requests if re.search(r"/v1/memory(/search|/events)?\?", url)]
    assert any(f"space={space}" in url for url in listed) and any("space=" not in url for url in listed)


def test_a_reader_sees_the_space_but_no_write_controls(open_console, client, people):
    _, alice = people["alice"]
    carol_key, carol = people["carol"]
    space = new_space(client, alice, "Family")
    add(client, space, alice, "carol", "reader")
    memory = remember(client, alice, "Grandma's birthday is May 3", space)
    client.patch(f"/v1/memory/{memory['id']}", json={"content": "Grandma's birthday is May 4"}, headers=alice)
    tab = open_console()
    page = tab.page
    tab.sign_in(carol_key)
    switch(tab, "Family (reader)")
    card = page.locator("#memory-list li.card")
    expect(card).to_contain_text("Grandma's birthday is May 4")
    expect(card).to_contain_text("by alice")
    expect(page.locator("#space-banner")).to_contain_text("as a reader: you can read and search its memories, not "
                                                          "change them.")
    expect(page.get_by_role("link", name="New memory")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)

    page.get_by_role("link", name="History: Grandma's birthday is May 4").click()
    expect(page.get_by_text("1 previous version.")).to_be_visible()
    expect(page.locator("#history-list .content")).to_have_text("Grandma's birthday is May 3")
    expect(page.get_by_role("button", name=re.compile("Restore"))).to_have_count(0)
    expect(page.locator("#history-current").get_by_role("link", name="Edit")).to_have_count(0)

    page.get_by_role("link", name="Stats & data").click()
    expect(page.get_by_role("heading", name="Stats & data of Family")).to_be_visible()
    expect(page.locator("#stats")).to_contain_text("Memories1")
    expect(page.get_by_role("button", name="Download export")).to_be_hidden()
    expect(page.get_by_role("button", name="Import")).to_be_hidden()

    # Typing the form's address does not open it either, and says why
    page.goto(f"{tab.url}/console#/new")
    expect(page.get_by_role("alert")).to_have_text("You are a reader of the space Family: you can read its memories, "
                                                   "not write them.")
    expect(page.get_by_role("heading", name="Memories in Family")).to_be_visible()

    # The members page: the list, nothing to manage
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members of Family")).to_be_visible()
    expect(page.locator("#member-list > li")).to_have_count(2)
    expect(page.get_by_role("button", name="Add member")).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
    expect(page.get_by_role("button", name="Delete space…")).to_be_hidden()
    assert client.get(f"/v1/memory?space={space}", headers=carol).json["data"][0]["content"] == \
        "Grandma's birthday is May 4"


def test_an_admin_adds_changes_and_removes_a_member(open_console, client, people):
    alice_key, alice = people["alice"]
    space = new_space(client, alice, "Ops")
    assert client.get("/v1/spaces", headers=alice).json["data"][0]["user"] == "alice"  # the console's "you"
    tab = open_console()
    page = tab.page
    tab.sign_in(alice_key)
    page.get_by_role("link", name="Spaces").click()
    expect(page.get_by_text("You are a member of 1 space.")).to_be_visible()
    page.get_by_role("link", name="Members of Ops").click()
    expect(page.get_by_role("heading", name="Members of Ops")).to_be_visible()
    expect(page.locator("#members-you")).to_contain_text("You (alice) are an admin of this space")

    ui = tab.screen
    ui.get_by_label("User id").fill("bob")
    ui.get_by_label("Role", exact=True).select_option("writer")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_have_text("bob added as a writer.")
    expect(page.locator("#member-list > li")).to_have_count(2)
    assert members(client, space, alice)["bob"]["role"] == "writer"

    ui.get_by_label("Role of bob", exact=True).select_option("reader")
    page.get_by_role("button", name="Save role of bob").click()
    expect(page.get_by_role("status")).to_have_text("bob is now a reader.")
    expect(ui.get_by_label("Role of bob", exact=True)).to_have_value("reader")
    assert members(client, space, alice)["bob"]["role"] == "reader"

    # A member the API refuses to add twice: its own message
    ui.get_by_label("User id").fill("bob")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("alert")).to_contain_text("'bob' is a member of this space already")

    page.get_by_role("button", name="Remove bob").click()
    expect(page.get_by_role("status")).to_have_text("bob removed: they no longer see this space.")
    expect(page.locator("#member-list > li")).to_have_count(1)
    assert list(members(client, space, alice)) == ["alice"]

    # The last admin cannot leave: the API's reason, and nothing changes
    page.get_by_role("button", name="Leave space…").click()
    page.get_by_role("button", name="Leave", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("A space keeps at least one admin: make another member admin "
                                                   "first.")
    assert list(members(client, space, alice)) == ["alice"]


def test_a_member_switches_inject_and_leaves(open_console, client, people):
    _, alice = people["alice"]
    bob_key, bob = people["bob"]
    space = new_space(client, alice, "Book club")
    add(client, space, alice, "bob", "writer")
    tab = open_console()
    page = tab.page
    tab.sign_in(bob_key)
    switch(tab, "Book club (writer)")
    page.locator("#space-banner").get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members of Book club")).to_be_visible()
    expect(page.get_by_role("button", name="Remove alice")).to_have_count(0)  # a writer manages nobody
    inject = page.get_by_label("Put its memories into my chats")
    expect(inject).to_be_checked()
    inject.uncheck()
    expect(page.get_by_role("status")).to_have_text("Its memories no longer go into your chats, unless a request "
                                                    "names this space.")
    assert members(client, space, alice)["bob"]["inject"] is False

    page.get_by_role("button", name="Leave space…").click()
    page.get_by_role("button", name="Stay").click()
    expect(page.get_by_role("button", name="Leave", exact=True)).to_be_hidden()
    page.get_by_role("button", name="Leave space…").click()
    page.get_by_role("button", name="Leave", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("You left Book club.")
    expect(page.get_by_text("You are in no space yet")).to_be_visible()
    expect(page.get_by_label("Space", exact=True)).to_have_value("")
    expect(page.locator("#space-banner")).to_be_hidden()
    assert "bob" not in members(client, space, alice)
    assert client.get("/v1/spaces", headers=bob).json["data"] == []


def test_create_rename_and_delete_a_space_typing_its_name_at_phone_width(open_console, client, people):
    alice_key, alice = people["alice"]
    tab = open_console(viewport={"width": 375, "height": 740}, color_scheme="dark")
    page = tab.page
    tab.sign_in(alice_key)
    page.get_by_role("link", name="Spaces").click()
    tab.screen.get_by_label("Name", exact=True).fill("Reading group")
    page.get_by_role("button", name="Create space").click()
    expect(page.get_by_role("status")).to_have_text("Space Reading group created: you are its admin.")
    expect(page.get_by_role("heading", name="Members of Reading group")).to_be_visible()
    [space] = client.get("/v1/spaces", headers=alice).json["data"]
    assert (space["name"], space["role"]) == ("Reading group", "admin")
    remember(client, alice, "We meet on Thursdays", space["id"])

    tab.screen.get_by_label("Name", exact=True).fill("Reading club")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("status")).to_have_text("Renamed to Reading club.")
    expect(page.get_by_role("heading", name="Members of Reading club")).to_be_visible()
    expect(page.get_by_label("Space", exact=True).locator("option")).to_have_text(["My memories",
                                                                                   "Reading club (admin)"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone

    page.get_by_role("button", name="Delete space…").click()
    confirm = page.get_by_label(re.compile("Type the space's name"))
    expect(confirm).to_be_focused()
    delete = page.get_by_role("button", name="Delete space and its memories")
    expect(delete).to_be_disabled()
    confirm.fill("Reading")
    expect(delete).to_be_disabled()
    confirm.press("Enter")  # submitting by the keyboard does not get around the typed name
    assert client.get(f"/v1/spaces/{space['id']}", headers=alice).status_code == 200
    confirm.fill("Reading club")
    expect(delete).to_be_enabled()
    delete.click()
    expect(page.get_by_role("status")).to_have_text("Space Reading club deleted, with its 1 memory.")
    expect(page.get_by_text("You are in no space yet")).to_be_visible()
    assert client.get("/v1/spaces", headers=alice).json["data"] == []
    assert client.get(f"/v1/spaces/{space['id']}", headers=alice).status_code == 404
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # and the deletion is in the admin's own feed
    page.get_by_role("link", name="Activity").click()
    expect(page.locator("#event-list > li").first).to_contain_text("space.deleted")
    expect(page.locator("#event-list > li").first).to_contain_text("by alice")


def test_a_removed_members_console_says_the_space_is_gone_and_shows_their_own(open_console, client, people):
    _, alice = people["alice"]
    bob_key, bob = people["bob"]
    space = new_space(client, alice, "Team")
    add(client, space, alice, "bob", "writer")
    remember(client, alice, "Door code is 1234", space)
    remember(client, bob, "Bob's own note")
    tab = open_console()
    page = tab.page
    tab.sign_in(bob_key)
    with space_loaded(tab):  # all in: an answer still on its way would be the one to find the space gone
        switch(tab, "Team (writer)")
    expect(page.locator("#memory-list .content")).to_have_text(["Door code is 1234"])

    # Removed while the list is on show: the next action (applying a filter) says so and shows their own
    client.delete(f"/v1/spaces/{space}/members/bob", headers=alice)
    page.get_by_text("Filters and order").click()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_have_text(GONE)
    expect(page.get_by_role("alert")).to_contain_text("“Team”")
    expect(page.get_by_role("heading", name="Memories", exact=True)).to_be_visible()
    expect(page.locator("#memory-list .content")).to_have_text(["Bob's own note"])
    expect(page.get_by_label("Space", exact=True)).to_have_value("")
    expect(page.get_by_label("Space", exact=True).locator("option")).to_have_text(["My memories"])
    expect(page.locator("#space-banner")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('memory-api.space')") is None

    # Added again, then the space is deleted while a new memory is being written: saving says the space is
    # gone, writes nothing anywhere, and the console is back on the person's own memories
    add(client, space, alice, "bob", "writer")
    page.get_by_role("link", name="Spaces").click()
    with space_loaded(tab):
        page.get_by_role("button", name="Open Team").click()
    expect(page.get_by_role("heading", name="Memories in Team")).to_be_visible()
    page.get_by_role("link", name="New memory").click()
    tab.screen.get_by_label("Content").fill("Written into a space that is gone")
    assert client.delete(f"/v1/spaces/{space}?confirm=true", headers=alice).status_code == 200
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text(GONE)
    expect(page.locator("#memory-list .content")).to_have_text(["Bob's own note"])
    assert [m["content"] for m in client.get("/v1/memory", headers=bob).json["data"]] == ["Bob's own note"]

    # A reload with a gone space remembered in the tab does the same at once
    second = new_space(client, alice, "Second team")
    add(client, second, alice, "bob", "reader")
    with space_loaded(tab):
        switch(tab, "Second team (reader)")
    expect(page.get_by_role("heading", name="Memories in Second team")).to_be_visible()
    client.delete(f"/v1/spaces/{second}/members/bob", headers=alice)
    page.reload()
    expect(page.get_by_role("alert")).to_have_text(GONE)
    expect(page.get_by_role("alert")).to_contain_text("“Second team”")
    expect(page.locator("#memory-list .content")).to_have_text(["Bob's own note"])


def test_a_writer_made_reader_meanwhile_is_told_and_loses_the_write_controls(open_console, client, people):
    _, alice = people["alice"]
    bob_key, bob = people["bob"]
    space = new_space(client, alice, "Team")
    add(client, space, alice, "bob", "writer")
    memory = remember(client, alice, "Standup is at 9", space)
    tab = open_console()
    page = tab.page
    tab.sign_in(bob_key)
    switch(tab, "Team (writer)")
    page.get_by_role("link", name="Edit: Standup is at 9").click()
    expect(tab.screen.get_by_label("Content")).to_have_value("Standup is at 9")
    resp = client.patch(f"/v1/spaces/{space}/members/bob", json={"role": "reader"}, headers=alice)
    assert resp.status_code == 200
    tab.screen.get_by_label("Content").fill("Standup is at 10")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text("You are a reader of the space Team: you can read its memories, "
                                                   "not write them.")
    expect(page.get_by_role("heading", name="Memories in Team")).to_be_visible()
    expect(page.locator("#memory-list .content")).to_have_text(["Standup is at 9"])
    expect(page.get_by_role("link", name="New memory")).to_be_hidden()
    expect(page.get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
    expect(page.get_by_label("Space", exact=True).locator("option")).to_have_text(["My memories", "Team (reader)"])
    assert client.get(f"/v1/memory/{memory['id']}", headers=bob).json["content"] == "Standup is at 9"
