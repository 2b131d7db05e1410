// A memory's previous versions, newest first, each of which can be restored (as a new revision).

import { ApiError, call } from "./api.js";
import { $, el, fill, memoryCard } from "./dom.js";
import { act, latestOnly, say } from "./ui.js";
import { canWrite, spaceParam } from "./space.js";

const views = latestOnly();

export async function show(id) {
  const ticket = views.start();
  const path = `/${encodeURIComponent(id)}`;
  const query = { space: spaceParam() }; // named: a 404 then says the space is gone, not just the memory
  const [{ data: memory, etag }, { data: versions }] = await Promise.all([
    call(path, { query }), call(`${path}/history`, { query })]);
  const writes = canWrite(); // a reader of the space sees the versions, and restores none
  if (!views.wanted(ticket)) return; // another memory's history was opened meanwhile
  fill($("history-title"), "History");
  const edit = writes && el("a", { class: "button secondary", href: `#/edit/${encodeURIComponent(id)}`, text: "Edit" });
  fill($("history-current"), el("h3", { text: "Current version", tabindex: "-1" }),
    el("ul", { class: "cards" }, memoryCard(memory, { actions: edit ? [edit] : [] })));
  const n = versions.data.length;
  fill($("history-count"), n ? `${n} previous ${n === 1 ? "version" : "versions"}.` : "No previous versions.");
  fill($("history-list"), versions.data.map((version) => {
    if (!writes) return memoryCard(version, { extra: [`revision ${version.revision}`] });
    const restore = el("button", { type: "button", text: `Restore revision ${version.revision}` });
    restore.addEventListener("click", () => act(restore, () => revert(id, version.revision, etag)));
    return memoryCard(version, { actions: [restore], extra: [`revision ${version.revision}`] });
  }));
}

async function revert(id, revision, etag) {
  try {
    await call(`/${encodeURIComponent(id)}/revert`, {
      method: "POST", json: { revision }, ifMatch: etag, query: { space: spaceParam() } });
    await show(id);
    say(`Restored revision ${revision} as the current version.`);
    $("history-current").querySelector("h3").focus();
  } catch (err) {
    if (err instanceof ApiError && err.status === 412) await show(id); // show what it is now
    throw err;
  }
}
