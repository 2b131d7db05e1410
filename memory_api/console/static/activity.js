// The activity feed (every create, update and delete) and the suggestions capture left for the person. In a
// space: the space's own feed, each change with the member who made it (suggestions are the person's own).

import { ApiError, call } from "./api.js";
import { $, el, fill, when } from "./dom.js";
import { act, latestOnly, say } from "./ui.js";
import { spaceParam } from "./space.js";

let cursor = null;
let showing = 0; // the ticket of the feed shown: its pages are wanted, an older one's are not
let feedSpace; // the space whose feed is shown (undefined: the person's own)
const feeds = latestOnly();
const suggestionLists = latestOnly();

export function init() {
  $("events-more").addEventListener("click", (event) => act(event.currentTarget, loadEvents));
}

export async function show() {
  showing = feeds.start();
  cursor = null;
  feedSpace = spaceParam();
  fill($("event-list"));
  $("suggestions").hidden = Boolean(feedSpace);
  if (feedSpace) {
    suggestionLists.start(); // one on its way is the person's own: not for this screen now
    fill($("suggestion-list"));
    fill($("suggestions-count"));
    return loadEvents();
  }
  return Promise.all([loadSuggestions(), loadEvents()]);
}

async function loadSuggestions() {
  const ticket = suggestionLists.start();
  const { data: list } = await call("/suggestions");
  if (!suggestionLists.wanted(ticket)) return;
  const n = list.data.length;
  fill($("suggestions-count"), n ? `${n} waiting for you.` : "None waiting.");
  fill($("suggestion-list"), list.data.map(suggestionCard));
}

function suggestionCard(suggestion) {
  const accept = el("button", { type: "button", text: "Accept" });
  const dismiss = el("button", { type: "button", class: "secondary", text: "Dismiss" });
  const decide = (button, verb, done) => button.addEventListener("click", () => act(button, async () => {
    await call(`/suggestions/${encodeURIComponent(suggestion.id)}/${verb}`, { method: "POST" });
    await loadSuggestions();
    say(done);
  }));
  decide(accept, "accept", "Suggestion accepted.");
  decide(dismiss, "dismiss", "Suggestion dismissed.");
  const what = { delete: "Delete memory", supersede: "Mark as past: memory", add: "Remember (held back by capture)" }[
    suggestion.action] ?? "Change memory";
  const ended = suggestion.action === "supersede"
    ? el("p", { class: "small", text: `No longer holds from ${when(suggestion.valid_until)}: replaced by ${suggestion.superseded_by}` })
    : null;
  return el("li", { class: "card" },
    el("p", { class: "small", text: `${what} ${suggestion.memory_id ?? ""}`.trim() }),
    ended,
    suggestion.content !== null ? el("p", { class: "content", text: suggestion.content }) : null,
    el("p", { class: "muted small", text: `Reason: ${suggestion.reason} · ${when(suggestion.created_at)}` }),
    el("div", { class: "row" }, accept, dismiss));
}

async function loadEvents() {
  const ticket = showing;
  const { data: page } = await call("/events", { query: { after: cursor ?? undefined, space: feedSpace } });
  if (!feeds.wanted(ticket)) return; // the feed was opened anew meanwhile
  const versions = await versionsOf(page.data);
  if (!feeds.wanted(ticket)) return;
  $("event-list").append(...page.data.map((event) => eventItem(event, versions.get(event.memory_id))));
  cursor = page.last_id ?? cursor;
  $("events-more").hidden = !page.has_more;
  if (!$("event-list").children.length) $("event-list").append(el("li", { class: "muted", text: "No activity yet." }));
}

/**
 * What each memory of the events was at each revision still known: the memory now and its previous versions
 * (GET /{id}, GET /{id}/history), one memory at a time, as a Map of id to Map of revision to version. A memory
 * deleted since (404) has none: the feed then says so instead of what it held.
 */
async function versionsOf(events) {
  const ids = [...new Set(events.map((event) => event.memory_id).filter(Boolean))];
  const query = { space: feedSpace };
  const known = await Promise.all(ids.map(async (id) => {
    const path = `/${encodeURIComponent(id)}`;
    try {
      const [{ data: memory, etag }, { data: history }] = await Promise.all([
        call(path, { query }), call(`${path}/history`, { query })]);
      const versions = new Map(history.data.map((version) => [version.revision, version]));
      versions.set(revisionOf(etag, history.data), memory);
      return [id, versions];
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && err.code !== "space_not_found") return [id, null];
      throw err;
    }
  }));
  return new Map(known);
}

/** The revision of a memory as it is now: the memory object has none, its ETag ("<revision>.<n>") does; else
 * the one after the newest previous version. */
function revisionOf(etag, history) {
  const match = /^(?:W\/)?"(\d+)\./.exec(etag ?? "");
  return match ? Number(match[1]) : (history[0]?.revision ?? 0) + 1;
}

const VERBS = { "memory.created": "Created", "memory.updated": "Updated", "memory.deleted": "Deleted" };

function eventItem(event, versions) {
  const verb = event.type.replace("memory.", "");
  const byWhom = (feedSpace || !event.memory_id) && event.author ? `by ${event.author}` : null;
  const facts = [byWhom, event.memory_id && `revision ${event.revision}`, `via ${event.source}`,
    event.actor && `key ${event.actor}`, event.reason && `reason: ${event.reason}`].filter(Boolean).join(" · ");
  let link = null;
  if (!event.memory_id) link = event.space ? el("span", { class: "mono", text: event.space }) : null; // space.deleted
  else if (versions) {
    link = el("a", { href: `#/history/${encodeURIComponent(event.memory_id)}`, text: "History",
      "aria-label": `History of ${event.memory_id}` });
  } else link = el("span", { class: "mono small", text: event.memory_id });
  return el("li", { class: "card" },
    el("p", {}, el("strong", { text: VERBS[event.type] ? verb : event.type }), " ",
      el("span", { class: "muted small", text: when(event.created_at) }), " ", link),
    event.memory_id ? change(event, versions) : null,
    el("p", { class: "muted small", text: facts }));
}

/** What an event changed: the content after a create; before and after an update (or what else changed). */
function change(event, versions) {
  if (!versions) {
    return el("p", { class: "muted small", text: event.type === "memory.deleted"
      ? "What it held went with it." : "Deleted since: its versions went with it." });
  }
  const after = versions.get(event.revision);
  const before = versions.get(event.revision - 1);
  if (event.type === "memory.created") return contentLine("Content", after);
  if (event.type === "memory.deleted") return contentLine("It held", after); // the revision deleted
  if (!before || !after) {
    return el("div", { class: "change" }, contentLine("After", after),
      el("p", { class: "muted small", text: "The version before is older than the history kept." }));
  }
  if (before.content !== after.content) {
    return el("div", { class: "change" }, contentLine("Before", before, "before"), contentLine("After", after, "after"));
  }
  return el("div", { class: "change" }, contentLine("Content", after),
    el("p", { class: "small", text: otherChanges(before, after) }));
}

function contentLine(label, version, kind = "") {
  if (!version) return el("p", { class: "muted small", text: `${label}: not in the history kept.` });
  return el("p", { class: `content ${kind}`.trim() }, el("span", { class: "label", text: `${label}: ` }), version.content);
}

/** Fields of a memory other than its content that differ between two versions, said in words. */
function otherChanges(before, after) {
  const said = [];
  const tags = (version) => (version.tags ?? []).join(", ") || "none";
  if (tags(before) !== tags(after)) said.push(`tags ${tags(before)} → ${tags(after)}`);
  if ((before.scope ?? null) !== (after.scope ?? null)) {
    said.push(`scope ${before.scope ?? "global"} → ${after.scope ?? "global"}`);
  }
  if (JSON.stringify(before.metadata ?? {}) !== JSON.stringify(after.metadata ?? {})) said.push("metadata changed");
  for (const [field, name] of [["occurred_at", "when it happened"], ["valid_until", "until when it holds"],
    ["expires_at", "when it is forgotten"]]) {
    if ((before[field] ?? null) !== (after[field] ?? null)) said.push(`${name} changed`);
  }
  return said.length ? `Content unchanged; ${said.join("; ")}.` : "Content unchanged.";
}
