// Create, edit and delete one memory. Every change of an existing memory sends the ETag it was read at as
// If-Match: if another tab or client wrote in between, the API answers 412 and nothing is overwritten;
// the newer version is then shown and the person chooses which one wins.

import { ApiError, call } from "./api.js";
import { $, el, fill, memoryCard } from "./dom.js";
import { act, go, latestOnly, splitTags } from "./ui.js";
import { current, spaceParam } from "./space.js";

let memoryId = null; // null: a new memory
let etag = null; // the version the form was filled from
let newer = null; // after a 412: {memory, etag} of the version that won
let shownTimes = {}; // the times the form was filled with: only a changed one is sent

// A memory's times and their inputs (type=date, a UTC day). A day chosen for expires_at means "forget
// after that day": the end of it.
const TIMES = { occurred_at: "edit-occurred", valid_until: "edit-valid-until", expires_at: "edit-expires" };
const DAY = 86400;

function dayInput(seconds, field) {
  if (seconds == null) return "";
  const start = field === "expires_at" ? seconds - 1 : seconds; // the end of a day shows as that day
  return new Date(start * 1000).toISOString().slice(0, 10);
}

function secondsOf(value, field) {
  if (!value) return null;
  const start = Date.parse(`${value}T00:00:00Z`) / 1000;
  return field === "expires_at" ? start + DAY : start;
}

export function init() {
  $("edit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act($("edit-save"), save);
  });
  $("edit-delete").addEventListener("click", () => {
    $("delete-confirm").hidden = false;
    $("delete-no").focus();
  });
  $("delete-no").addEventListener("click", () => {
    $("delete-confirm").hidden = true;
    $("edit-delete").focus();
  });
  $("delete-yes").addEventListener("click", (event) => act(event.currentTarget, remove));
  $("conflict-load").addEventListener("click", () => {
    fillForm(newer.memory, newer.etag);
    $("edit-content").focus();
  });
  $("conflict-overwrite").addEventListener("click", (event) => {
    etag = newer.etag; // knowingly: the person has seen the version they replace
    act(event.currentTarget, save);
  });
}

const opened = latestOnly();

/** The query naming the space a memory is in: a 404 then says the space is gone, not just the memory. */
const inSpace = () => ({ space: spaceParam() });

export async function show(id) {
  const ticket = opened.start();
  memoryId = id;
  $("edit-form").reset();
  $("delete-confirm").hidden = $("conflict").hidden = true;
  $("edit-delete").hidden = $("edit-history").hidden = !id;
  const space = current();
  fill($("edit-title"), `${id ? "Edit memory" : "New memory"}${space ? ` in ${space.name}` : ""}`);
  if (!id) {
    etag = null;
    shownTimes = {};
    $("edit-content").focus();
    return;
  }
  $("edit-history").href = `#/history/${encodeURIComponent(id)}`;
  const { data: memory, etag: version } = await call(`/${encodeURIComponent(id)}`, { query: inSpace() });
  if (!opened.wanted(ticket)) return; // another memory (or a new one) was opened meanwhile
  fillForm(memory, version);
}

function fillForm(memory, current) {
  etag = current;
  newer = null;
  $("conflict").hidden = true;
  $("edit-content").value = memory.content;
  $("edit-tags").value = memory.tags.join(", ");
  $("edit-scope").value = memory.scope ?? "";
  const metadata = memory.metadata || {};
  $("edit-metadata").value = Object.keys(metadata).length ? JSON.stringify(metadata, null, 2) : "";
  shownTimes = {};
  for (const [field, id] of Object.entries(TIMES)) {
    $(id).value = shownTimes[field] = dayInput(memory[field], field);
  }
}

/** The times the person set (on create) or changed (on edit: a time left as shown keeps its exact second). */
function times() {
  const changed = {};
  for (const [field, id] of Object.entries(TIMES)) {
    const value = $(id).value;
    if (memoryId ? value !== (shownTimes[field] ?? "") : value) changed[field] = secondsOf(value, field);
  }
  return changed;
}

/** The form as an API body; blank fields clear (on edit) or are left out (on create). */
function body() {
  const scope = $("edit-scope").value.trim();
  const metadataText = $("edit-metadata").value.trim();
  let metadata = null;
  if (metadataText) {
    try {
      metadata = JSON.parse(metadataText);
    } catch (err) {
      throw new Error(`Metadata is not valid JSON (${err.message}).`);
    }
  }
  const fields = { content: $("edit-content").value, tags: splitTags($("edit-tags").value), ...times() };
  if (memoryId) return { ...fields, scope: scope || null, metadata };
  return { ...fields, ...(scope && { scope }), ...(metadata && { metadata }), space: spaceParam() };
}

async function save() {
  const json = body();
  try {
    if (!memoryId) {
      await call("", { method: "POST", json });
      return go("#/memories", { say: "Memory created." });
    }
    await call(`/${encodeURIComponent(memoryId)}`, { method: "PATCH", json, ifMatch: etag, query: inSpace() });
    go("#/memories", { say: "Memory saved." });
  } catch (err) {
    if (err instanceof ApiError && err.status === 412) return showConflict(err);
    throw err;
  }
}

async function remove() {
  try {
    await call(`/${encodeURIComponent(memoryId)}`, { method: "DELETE", ifMatch: etag, query: inSpace() });
    go("#/memories", { say: "Memory deleted." });
  } catch (err) {
    $("delete-confirm").hidden = true;
    if (err instanceof ApiError && err.status === 412) return showConflict(err);
    throw err;
  }
}

/** After a 412: fetch the version that won and show it next to the person's unsaved edits. */
async function showConflict(err) {
  const { data: memory, etag: version } = await call(`/${encodeURIComponent(memoryId)}`, { query: inSpace() });
  newer = { memory, etag: version };
  fill($("conflict-newer"), el("ul", { class: "cards" }, memoryCard(memory)));
  $("conflict").hidden = false;
  $("conflict").focus();
  throw err; // its message (from the API) goes to the error line too
}
