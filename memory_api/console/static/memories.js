// The memory list: newest or oldest first, filtered by tag, scope and source, one cursor page at a time.

import { call } from "./api.js";
import { $, el, fill, linkButton, memoryCard } from "./dom.js";
import { act, config, latestOnly, valueOf } from "./ui.js";
import { canWrite, current, spaceParam } from "./space.js";

let cursor = null; // the last id shown: the next page starts after it
let listing = 0; // the ticket of the list shown: its pages are wanted, an older list's are not
const lists = latestOnly();

export function init() {
  $("filters-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, reload);
  });
  $("load-more").addEventListener("click", (event) => act(event.currentTarget, loadPage));
}

export async function show() {
  const space = current();
  fill($("memories-title"), space ? `Memories in ${space.name}` : "Memories");
  $("new-memory").hidden = !canWrite();
  await Promise.all([reload(), loadTagOptions()]);
}

/** Show only memories with `tag` (from the tag list on the stats screen). */
export function filterByTag(tag) {
  $("filters-form").reset();
  $("filter-tag").value = tag;
}

async function reload() {
  listing = lists.start();
  cursor = null;
  fill($("memory-list"));
  await loadPage();
}

async function loadPage() {
  const ticket = listing;
  const list = $("memory-list");
  const query = {
    limit: config.pageSize, order: $("filter-order").value, after: cursor ?? undefined, space: spaceParam(),
    tag: valueOf("filter-tag"), scope: valueOf("filter-scope"), source: $("filter-source").value,
    include_invalid: $("filter-time").value === "holding" ? "false" : undefined,
  };
  const { data: page } = await call("", { query });
  if (!lists.wanted(ticket)) return; // the filters changed while it loaded
  const cards = page.data.map((memory) => memoryCard(memory, { actions: actionsFor(memory) }));
  list.append(...cards);
  cursor = page.last_id ?? cursor;
  const more = $("load-more");
  const hadFocus = document.activeElement === more;
  more.hidden = !page.has_more;
  if (hadFocus && more.hidden && cards.length) cards[0].querySelector("a").focus(); // not lost on <body>
  const shown = list.children.length;
  fill($("memories-count"), shown === 0 ? "No memories match."
    : `${shown} ${shown === 1 ? "memory" : "memories"} shown${page.has_more ? "; there are more" : ""}.`);
}

/** A memory's links: its history, and its form where the user may write (not a reader of its space). */
export function actionsFor(memory) {
  const name = memory.content.slice(0, 40);
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
