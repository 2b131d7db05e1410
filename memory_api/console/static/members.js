// One space's members page: who is in it, with their role and inject switch. Every member switches their own
// inject and may leave; admins also add members, change roles, remove members, rename the space and delete
// it (typing its name to confirm, since every memory in it goes too, for everyone).

import { callSpaces, session } from "./api.js";
import { $, el, fill, when } from "./dom.js";
import { act, go, latestOnly, say } from "./ui.js";
import { asRole, choose, current } from "./space.js";
import { refresh } from "./switcher.js";

const ROLES = ["reader", "writer", "admin"];
const ROLE_MEANS = {
  reader: "you can read and search its memories, and they can go into your chats",
  writer: "you can also create, change and delete its memories",
  admin: "you can also manage its members, rename it and delete it",
};

let space = null; // the space shown, as the user sees it: {id, name, role, inject, user, ...}
const views = latestOnly();

const path = (...parts) => `/${[space.id, ...parts].map(encodeURIComponent).join("/")}`;
const me = () => space.user ?? session.user;

export function init() {
  $("member-add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, addMember);
  });
  $("space-rename-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, rename);
  });
  $("member-inject").addEventListener("change", (event) => act(event.currentTarget, switchInject));
  $("leave").addEventListener("click", () => {
    $("leave-confirm").hidden = false;
    $("leave-no").focus();
  });
  $("leave-no").addEventListener("click", () => {
    $("leave-confirm").hidden = true;
    $("leave").focus();
  });
  $("leave-yes").addEventListener("click", (event) => act(event.currentTarget, leave));
  $("space-delete").addEventListener("click", () => {
    $("space-delete-confirm").hidden = false;
    $("space-delete-name").focus();
  });
  $("space-delete-name").addEventListener("input", matchName);
  $("space-delete-no").addEventListener("click", () => {
    closeDelete();
    $("space-delete").focus();
  });
  $("space-delete-confirm").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, deleteSpace);
  });
}

export async function show(id) {
  const ticket = views.start();
  const at = `/${encodeURIComponent(id)}`;
  const [{ data: seen }, { data: list }] = await Promise.all([callSpaces(at), callSpaces(`${at}/members`)]);
  if (!views.wanted(ticket)) return; // another space's page (or this one anew) was asked for meanwhile
  const another = space?.id !== seen.id;
  space = seen;
  const admin = space.role === "admin";
  fill($("members-title"), `Members of ${space.name}`);
  fill($("members-you"), `You (${me()}) are ${asRole(space.role)} of this space: ${ROLE_MEANS[space.role]}.`);
  const n = list.data.length;
  fill($("members-count"), `${n} ${n === 1 ? "member" : "members"}.`);
  fill($("member-list"), list.data.map((member, i) => memberCard(member, i, admin)));
  $("member-inject").checked = space.inject;
  $("leave-confirm").hidden = true;
  $("members-admin").hidden = !admin;
  if (another || !admin) {
    $("member-add-form").reset();
    $("space-rename-name").value = space.name;
  }
  closeDelete();
}

function memberCard(member, index, admin) {
  const you = member.user === me();
  const facts = [admin ? null : member.role, member.inject ? "inject on" : "inject off",
    `added ${when(member.added_at)}`].filter(Boolean).join(" · ");
  const who = el("p", {}, el("strong", { text: member.user }), you ? " (you)" : "");
  if (!admin) return el("li", { class: "card" }, who, el("p", { class: "muted small", text: facts }));
  const id = `member-role-${index}`;
  const role = el("select", { id }, ROLES.map((r) => el("option", { value: r, text: r })));
  role.value = member.role;
  const save = el("button", { type: "button", class: "secondary", text: "Save role",
    "aria-label": `Save role of ${member.user}` });
  save.addEventListener("click", () => act(save, () => changeRole(member.user, role.value)));
  const controls = [el("label", { for: id, text: `Role of ${member.user}` }), role, save];
  if (!you) { // the person leaves through "Leave space", below
    const remove = el("button", { type: "button", class: "danger", text: "Remove",
      "aria-label": `Remove ${member.user}` });
    remove.addEventListener("click", () => act(remove, () => removeMember(member.user)));
    controls.push(remove);
  }
  return el("li", { class: "card" }, who, el("p", { class: "muted small", text: facts }),
    el("div", { class: "row member-controls" }, controls));
}

/** After a change: the page anew (and the switcher, where the person's own role or inject shows). */
async function reload({ spaces = false } = {}) {
  if (spaces) await refresh();
  await show(space.id);
  $("member-list-title").focus();
}

async function addMember() {
  const user = $("member-add-user").value.trim();
  const role = $("member-add-role").value;
  const { data: added } = await callSpaces(path("members"), { method: "POST", json: { user, role } });
  $("member-add-form").reset();
  await show(space.id);
  say(`${added.user} added as ${asRole(added.role)}.`);
  $("member-add-user").focus();
}

async function changeRole(user, role) {
  const { data: changed } = await callSpaces(path("members", user), { method: "PATCH", json: { role } });
  await reload({ spaces: user === me() });
  say(`${changed.user} is now ${asRole(changed.role)}.`);
}

async function removeMember(user) {
  await callSpaces(path("members", user), { method: "DELETE" });
  await reload();
  say(`${user} removed: they no longer see this space.`);
}

async function switchInject() {
  const box = $("member-inject");
  try {
    await callSpaces(path("members", me()), { method: "PATCH", json: { inject: box.checked } });
  } catch (err) {
    box.checked = !box.checked; // as it still is
    throw err;
  }
  await refresh();
  space = { ...space, inject: box.checked };
  say(box.checked ? "Its memories now go into your chats." : "Its memories no longer go into your chats, unless a "
    + "request names this space.");
}

async function leave() {
  const { id, name } = space;
  try {
    await callSpaces(path("members", me()), { method: "DELETE" });
  } catch (err) {
    $("leave-confirm").hidden = true; // the reason (the last admin stays) is on the error line
    throw err;
  }
  await gone(id);
  go("#/spaces", { say: `You left ${name}.` });
}

async function rename() {
  const name = $("space-rename-name").value.trim();
  const { data: renamed } = await callSpaces(path(), { method: "PATCH", json: { name } });
  await refresh();
  await show(space.id);
  say(`Renamed to ${renamed.name}.`);
}

function matchName() {
  $("space-delete-yes").disabled = $("space-delete-name").value.trim() !== space.name;
}

function closeDelete() {
  $("space-delete-confirm").hidden = true;
  $("space-delete-name").value = "";
  fill($("space-delete-expected"), space ? space.name : "");
  $("space-delete-yes").disabled = true;
}

async function deleteSpace() {
  const { id, name } = space;
  if ($("space-delete-name").value.trim() !== name) return; // typed confirmation only
  const { data: result } = await callSpaces(path(), { method: "DELETE", query: { confirm: "true" } });
  await gone(id);
  const n = result.memories_deleted;
  go("#/spaces", { say: `Space ${name} deleted, with its ${n} ${n === 1 ? "memory" : "memories"}.` });
}

/** The person is no longer in space `id`: the console stops working on it. */
async function gone(id) {
  if (current()?.id === id || session.space === id) choose(null);
  space = null;
  await refresh();
}
