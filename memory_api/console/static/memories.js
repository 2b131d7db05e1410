// The memory list: one dense row per memory with the collection's total count, a search box, filters and
// order, one cursor page at a time. A row's Delete, the rows selected and "Delete all" are deleting.js's.

import { call } from "./api.js";
import { $, el, fill, linkButton, memoryCard, short } from "./dom.js";
import { act, config, latestOnly, valueOf } from "./ui.js";
import { canWrite, current, spaceParam } from "./space.js";
import * as deleting from "./deleting.js";

let cursor = null; // the last id shown: the next page starts after it
let listing = 0; // the ticket of the list shown: its pages and its count are wanted, an older list's are not
let hasMore = false;
let searched = null; // the query whose results are on show, or null: the list
let total = null; // how many memories the collection holds (GET /stats), null until known
const lists = latestOnly();
const counts = latestOnly();

export function init() {
  $("filters-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, reload);
  });
  $("list-search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, reload);
  });
  $("list-search-clear").addEventListener("click", (event) => {
    $("list-search").value = "";
    $("list-search").focus(); // the button is about to hide: focus is not lost on <body>
    act(event.currentTarget, reload);
  });
  $("load-more").addEventListener("click", (event) => act(event.currentTarget, loadPage));
  deleting.init({ reload, removed, total: () => total });
}

export async function show() {
  const space = current();
  fill($("memories-title"), space ? `Memories in ${space.name}` : "Memories");
  $("new-memory").hidden = !canWrite();
  deleting.showControls();
  await Promise.all([reload(), loadTagOptions()]);
}

/** Show only memories with `tag` (from the tag list on the stats screen). */
export function filterByTag(tag) {
  $("filters-form").reset();
  $("list-search").value = "";
  $("filter-tag").value = tag;
  $("list-filters").open = true;
}

/** The filters chosen, as query parameters (the list and the search take the same). */
function filters() {
  return {
    tag: valueOf("filter-tag"), scope: valueOf("filter-scope"), source: $("filter-source").value || undefined,
    include_invalid: $("filter-time").value === "holding" ? "false" : undefined,
  };
}

const filtered = () => Object.values(filters()).some((value) => value !== undefined);

/** The list (or the search results) anew from the first page, with the count. */
export async function reload() {
  listing = lists.start();
  cursor = null;
  hasMore = false;
  searched = $("list-search").value.trim() || null;
  $("list-search-clear").hidden = !searched;
  $("load-more").hidden = true;
  fill($("memory-list"));
  fill($("memories-count"));
  deleting.selectionChanged();
  await Promise.all([searched ? loadResults() : loadPage(), loadCount()]);
}

async function loadPage() {
  const ticket = listing;
  const list = $("memory-list");
  const query = {
    limit: config.pageSize, order: $("filter-order").value, after: cursor ?? undefined, space: spaceParam(),
    ...filters(),
  };
  const { data: page } = await call("", { query });
  if (!lists.wanted(ticket)) return; // the filters changed while it loaded
  const rows = page.data.map(row);
  list.append(...rows);
  cursor = page.last_id ?? cursor;
  hasMore = page.has_more;
  const more = $("load-more");
  const hadFocus = document.activeElement === more;
  more.hidden = !hasMore;
  if (hadFocus && more.hidden && rows.length) rows[0].querySelector("a").focus(); // not lost on <body>
  deleting.selectionChanged();
  renderCount();
}

async function loadResults() {
  const ticket = listing;
  const query = { query: searched, limit: config.pageSize, space: spaceParam(), ...filters() };
  const { data: results } = await call("/search", { query });
  if (!lists.wanted(ticket)) return; // another search (or the list) was asked for meanwhile
  fill($("memory-list"), results.data.map(row));
  deleting.selectionChanged();
  renderCount();
}

async function loadCount() {
  const ticket = listing;
  const asked = counts.start();
  const { data: stats } = await call("/stats", { query: { space: spaceParam() } });
  if (!lists.wanted(ticket) || !counts.wanted(asked)) return; // another list's, or an older count
  total = stats.count;
  renderCount();
}

/** After rows were deleted: the count anew, and the next page if every row shown is gone. */
async function removed() {
  renderCount();
  if (!$("memory-list").children.length && hasMore && !searched) await loadPage();
  await loadCount();
}

function row(memory) {
  const { select, remove } = deleting.rowControls(memory);
  return memoryCard(memory, { select, actions: [...actionsFor(memory), remove].filter(Boolean) });
}

const noun = (n) => (n === 1 ? "memory" : "memories");

function renderCount() {
  const shown = $("memory-list").children.length;
  const inAll = total === null ? "" : ` ${total} ${noun(total)} in all.`;
  let text;
  if (searched) {
    text = `${shown} ${shown === 1 ? "result" : "results"} for “${short(searched)}”.${inAll}`;
  } else if (total === 0 && !filtered()) {
    text = "No memories yet.";
  } else if (shown === 0) {
    text = hasMore ? "" : `No memories match.${inAll}`;
  } else if (filtered() || total === null) {
    text = `${shown} matching ${noun(shown)} shown${hasMore ? "; there are more" : ""}.${inAll}`;
  } else {
    text = `${shown} of ${total} ${noun(total)} shown.`;
  }
  fill($("memories-count"), text);
}

/** A memory's links: its history, and its form where the user may write (not a reader of its space). */
export function actionsFor(memory) {
  const name = short(memory.content);
  return [
    canWrite() ? linkButton("Edit", `#/edit/${encodeURIComponent(memory.id)}`, `Edit: ${name}`) : null,
    linkButton("History", `#/history/${encodeURIComponent(memory.id)}`, `History: ${name}`),
  ].filter(Boolean);
}

const tagLists = latestOnly();

async function loadTagOptions() {
  const ticket = tagLists.start();
  const { data } = await call("/tags", { query: { space: spaceParam() } });
  if (!tagLists.wanted(ticket)) return; // another space's, or an older list
  fill($("tag-options"), data.data.map((t) => el("option", { value: t.tag })));
}
