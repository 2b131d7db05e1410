// Deleting from the memory list: a row's Delete (one click; Undo brings it back), the rows selected (POST
// batch_delete, in chunks the server takes) and every memory (DELETE ?confirm=true, once "delete all" is typed;
// in a space, for its admins only, as the API allows). Undo restores what the last delete took (POST
// /{id}/restore), for as long as the server keeps deleted memories (MEMORY_API_DELETED_RETENTION_SECONDS).

import { call } from "./api.js";
import { $, el, fill, short } from "./dom.js";
import { act, config, say } from "./ui.js";
import { canWrite, current, isAdmin, spaceParam } from "./space.js";

const CONFIRMATION = "delete all";
let list; // the list's hooks: reload(), removed() after rows went, total()
let undoable = null; // {ids, space} the last delete took

export function init(hooks) {
  list = hooks;
  $("select-all").addEventListener("change", (event) => {
    for (const box of boxes()) box.checked = event.currentTarget.checked;
    selectionChanged();
  });
  $("delete-selected").addEventListener("click", (event) => act(event.currentTarget, deleteSelected));
  $("undo-button").addEventListener("click", (event) => act(event.currentTarget, undo));
  $("delete-all-open").addEventListener("click", () => (deleteAllOpen() ? closeDeleteAll() : openDeleteAll()));
  $("delete-all-no").addEventListener("click", closeDeleteAll);
  $("delete-all-confirm").addEventListener("input", (event) => {
    $("delete-all-yes").disabled = event.currentTarget.value.trim().toLowerCase() !== CONFIRMATION;
  });
  $("delete-all-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, deleteAll);
  });
}

/** The delete controls for where the console is: none for a reader; "Delete all" for admins in a space. */
export function showControls() {
  $("bulk").hidden = !canWrite();
  $("delete-all-open").hidden = !canWrite() || (Boolean(current()) && !isAdmin());
  closeDeleteAll({ focus: false });
  if (undoable && undoable.space !== spaceParam()) hideUndo(); // another collection's
}

/** A row's checkbox and Delete button (none where the user may not write). */
export function rowControls(memory) {
  if (!canWrite()) return { select: null, remove: null };
  const name = short(memory.content);
  const select = el("input", { type: "checkbox", class: "select", value: memory.id, "aria-label": `Select: ${name}` });
  select.addEventListener("change", selectionChanged);
  const remove = el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete: ${name}` });
  remove.addEventListener("click", () => act(remove, () => deleteOne(memory, remove.closest("li"))));
  return { select, remove };
}

const boxes = () => [...$("memory-list").querySelectorAll("input.select")];
const chosen = () => boxes().filter((box) => box.checked);

/** The selection's controls as the checkboxes now are. */
export function selectionChanged() {
  const all = boxes();
  const n = chosen().length;
  const button = $("delete-selected");
  button.disabled = n === 0;
  fill(button, n ? `Delete selected (${n})` : "Delete selected");
  $("select-all").checked = n > 0 && n === all.length;
  $("select-all").indeterminate = n > 0 && n < all.length;
  $("select-all").disabled = all.length === 0;
}

async function deleteOne(memory, row) {
  const space = spaceParam();
  await call(`/${encodeURIComponent(memory.id)}`, { method: "DELETE", query: { space } });
  // Focus moves to the next row's Delete (or the one before), so deleting several in a row takes one key each.
  const next = row.nextElementSibling ?? row.previousElementSibling;
  row.remove();
  offerUndo([memory.id], space, `Deleted “${short(memory.content)}”.`);
  selectionChanged();
  (next?.querySelector("button.danger") ?? $("list-search")).focus();
  await list.removed();
}

async function deleteSelected() {
  const space = spaceParam();
  const rows = chosen();
  const ids = rows.map((box) => box.value);
  const deleted = [];
  for (let start = 0; start < ids.length; start += config.maxBatch) { // the server takes max_batch at a time
    const { data: outcomes } = await call("/batch_delete", {
      method: "POST", json: { ids: ids.slice(start, start + config.maxBatch), space } });
    deleted.push(...outcomes.data.filter((outcome) => outcome.deleted).map((outcome) => outcome.id));
  }
  for (const box of rows) box.closest("li").remove(); // not deleted: it was gone already
  selectionChanged();
  offerUndo(deleted, space, `Deleted ${deleted.length} ${deleted.length === 1 ? "memory" : "memories"}.`);
  ($("undo").hidden ? $("list-search") : $("undo-button")).focus();
  await list.removed();
}

function offerUndo(ids, space, text) {
  say(config.restorable ? text : `${text} It cannot be restored.`);
  if (!config.restorable || !ids.length) return hideUndo();
  undoable = { ids, space };
  fill($("undo-text"), text);
  $("undo-button").setAttribute("aria-label", `Undo: ${text}`);
  $("undo").hidden = false;
  return undefined;
}

function hideUndo() {
  undoable = null;
  $("undo").hidden = true;
}

async function undo() {
  const { ids, space } = undoable;
  hideUndo();
  const outcomes = await Promise.allSettled(ids.map((id) => call(`/${encodeURIComponent(id)}/restore`, {
    method: "POST", query: { space } })));
  const restored = outcomes.filter((outcome) => outcome.status === "fulfilled").length;
  await list.reload();
  const first = $("memory-list").querySelector(`input.select[value="${CSS.escape(ids[0])}"]`);
  (first ?? $("list-search")).focus();
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason; // the API's own message (e.g. kept no longer), after what did come back
  say(`Restored ${restored === 1 ? "the memory" : `${restored} memories`}.`);
}

const deleteAllOpen = () => !$("delete-all").hidden;

function openDeleteAll() {
  const space = current();
  const total = list.total();
  const count = total === null ? "" : ` ${total}`;
  fill($("delete-all-title"), space ? `Delete all memories of ${space.name}` : "Delete all your memories");
  fill($("delete-all-what"), space
    ? `This deletes all${count} memories of the space ${space.name}, for every member. The console cannot undo it.`
    : `This deletes all${count} of your memories. The console cannot undo it.`);
  $("delete-all-form").reset();
  $("delete-all-yes").disabled = true;
  $("delete-all").hidden = false;
  $("delete-all-open").setAttribute("aria-expanded", "true");
  $("delete-all-confirm").focus();
}

function closeDeleteAll({ focus = true } = {}) {
  const wasOpen = deleteAllOpen();
  $("delete-all").hidden = true;
  $("delete-all-open").setAttribute("aria-expanded", "false");
  if (focus && wasOpen) $("delete-all-open").focus();
}

async function deleteAll() {
  const space = current();
  const { data: result } = await call("", { method: "DELETE", query: { confirm: "true", space: spaceParam() } });
  closeDeleteAll({ focus: false });
  hideUndo();
  await list.reload();
  const n = result.deleted_count;
  say(`Deleted ${n === 1 ? "1 memory" : `all ${n} memories`}${space ? ` of ${space.name}` : ""}.`);
  $("memories-title").focus();
}
