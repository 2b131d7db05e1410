// The space switcher in the header: "My memories" or one of the user's spaces (with their role there). The
// screens that show a collection (list, search, activity, stats) then work on the space chosen. A space that
// answers 404 (the user was removed, or it was deleted) is said to be gone, and the console goes back to the
// user's own memories instead of showing a broken screen.

import { callSpaces, session } from "./api.js";
import { $, el, fill } from "./dom.js";
import { allSpaces, asRole, choose, current, nameOf, setSpaces } from "./space.js";
import { go, latestOnly, onSpaceTrouble, report } from "./ui.js";

const lists = latestOnly();
const told = new Set(); // the spaces the person has been told are gone (until a list holds them again)

// Screens that show the current collection: a switch shows the same screen for the space chosen. Any other
// (a memory's form or history, a space's members) belongs to what was left: a switch goes to the list.
const FOLLOWS = ["memories", "search", "context", "activity", "overview", "spaces"];

export function init() {
  $("space-form").addEventListener("submit", (event) => {
    event.preventDefault();
    switchTo($("space-select").value || null);
  });
  // About to choose: the choices as they are now (a space the person was added to meanwhile shows up).
  $("space-select").addEventListener("focus", () => refresh({ keepChoice: true }).catch(report));
  onSpaceTrouble(trouble);
}

/**
 * Fetch the user's spaces anew and show them. Resolves false when the space the console was on is gone (the
 * person has been told and moved to their own memories): the screen asked for is then not to be shown.
 * `keepChoice`: a space chosen in the switcher but not yet switched to stays chosen.
 */
export async function refresh({ keepChoice = false } = {}) {
  const ticket = lists.start();
  const { data: list } = await callSpaces("");
  if (!lists.wanted(ticket)) return true; // a newer fetch is applied instead (and deals with a space gone)
  const gone = session.space && !list.data.some((space) => space.id === session.space);
  const id = session.space;
  setSpaces(list.data);
  for (const space of list.data) told.delete(space.id);
  if (gone) {
    fallBack(id);
    return false;
  }
  render({ keepChoice });
  return true;
}

/** Work on space `id` (null: the user's own memories) from now on, and show it (on screen `hash` if given). */
export function switchTo(id, hash) {
  choose(id);
  render();
  const space = current();
  const text = space
    ? `Showing the space ${space.name}, where you are ${asRole(space.role)}.`
    : "Showing your own memories.";
  const [screen, sub] = location.hash.replace(/^#\/?/, "").split("/");
  go(hash || (FOLLOWS.includes(screen) && !sub ? `#/${screen}` : "#/memories"), { say: text });
}

/** The switcher's choices and the banner saying which space the console is on, as the state now is. */
export function render({ keepChoice = false } = {}) {
  const space = current();
  const select = $("space-select");
  const chosen = keepChoice ? select.value : null;
  const choices = [["", "My memories"], ...allSpaces().map((s) => [s.id, `${s.name} (${s.role})`])];
  const shown = [...select.options].map((option) => [option.value, option.text]);
  if (JSON.stringify(choices) !== JSON.stringify(shown)) { // else left alone: it may be open
    fill(select, choices.map(([value, text]) => el("option", { value, text })));
  }
  const still = chosen !== null && choices.some(([value]) => value === chosen);
  select.value = still ? chosen : space ? space.id : "";
  const banner = $("space-banner");
  banner.hidden = !space;
  if (!space) return fill(banner);
  return fill(banner, "In the space ", el("strong", { text: space.name }), `, as ${asRole(space.role)}`,
    space.role === "reader" ? ": you can read and search its memories, not change them. " : ". ",
    el("a", { href: `#/spaces/${encodeURIComponent(space.id)}`, text: "Members" }));
}

/** Say plainly that space `id` is no longer there for this user, drop it, and go to safe ground. */
export function fallBack(id) {
  told.add(id);
  const name = nameOf(id);
  const wasCurrent = session.space === id;
  if (wasCurrent) choose(null);
  setSpaces(allSpaces().filter((space) => space.id !== id));
  render();
  const message = `${name ? `The space “${name}”` : "That space"} is gone: you are no longer a member of it `
    + "(you were removed, or it was deleted).";
  if (wasCurrent) return go("#/memories", { error: `${message} Showing your own memories.` });
  return go("#/spaces", { error: message });
}

function trouble(err) {
  if (err.spaceGone) {
    // Several answers may find the same space gone (a list and its tags): the first one tells the person.
    if (!told.has(err.space) || err.space === session.space) fallBack(err.space);
    return true;
  }
  if (err.status === 403 && err.code === "insufficient_role" && err.space === session.space) {
    // The role may have been lowered meanwhile: the message shows now; if it was, the screen is shown anew
    // for the role there is (without the controls it no longer has), saying the same.
    const before = current()?.role;
    refresh().then((fine) => {
      if (fine && current() && current().role !== before) go(location.hash, { error: err.message });
    }).catch(() => { /* the error shown already says what went wrong */ });
  }
  return false;
}
