// The user's spaces (each with their role, a way to open it and its members page) and creating a new one.

import { callSpaces } from "./api.js";
import { $, el, fill } from "./dom.js";
import { act, go } from "./ui.js";
import { allSpaces, asRole, current } from "./space.js";
import { refresh, switchTo } from "./switcher.js";

export function init() {
  $("space-create-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, create);
  });
}

/** The spaces as the switcher fetched them just now (route() fetches them anew before any screen shows). */
export async function show() {
  const spaces = allSpaces();
  const n = spaces.length;
  fill($("spaces-count"), n ? `You are a member of ${n} ${n === 1 ? "space" : "spaces"}.`
    : "You are in no space yet: create one, or ask a space's admin to add you.");
  fill($("space-list"), spaces.map(spaceCard));
}

function spaceCard(space) {
  const here = current()?.id === space.id;
  const open = el("button", { type: "button", class: here ? "secondary" : undefined, text: here ? "Shown" : "Open",
    "aria-label": here ? `${space.name} is shown` : `Open ${space.name}`, disabled: here });
  open.addEventListener("click", () => switchTo(space.id, "#/memories"));
  const members = el("a", { class: "button secondary", href: `#/spaces/${encodeURIComponent(space.id)}`,
    text: "Members", "aria-label": `Members of ${space.name}` });
  return el("li", { class: "card" },
    el("p", {}, el("strong", { text: space.name })),
    el("p", { class: "muted small", text: [`you are ${asRole(space.role)}`,
      space.inject ? "its memories go into your chats" : "not put into your chats unless named",
      `created by ${space.created_by}`].join(" · ") }),
    el("div", { class: "row" }, open, members));
}

async function create() {
  const name = $("space-create-name").value.trim();
  const { data: space } = await callSpaces("", { method: "POST", json: { name } });
  $("space-create-form").reset();
  await refresh();
  go(`#/spaces/${encodeURIComponent(space.id)}`, { say: `Space ${space.name} created: you are its admin.` });
}
