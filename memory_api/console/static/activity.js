// The activity feed (every create, update and delete) and the suggestions capture left for the person. In a
// space: the space's own feed, each change with the member who made it (suggestions are the person's own).

import { call } from "./api.js";
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
  $("event-list").append(...page.data.map(eventItem));
  cursor = page.last_id ?? cursor;
  $("events-more").hidden = !page.has_more;
  if (!$("event-list").children.length) $("event-list").append(el("li", { class: "muted", text: "No activity yet." }));
}

function eventItem(event) {
  const verb = event.type.replace("memory.", "");
  let link;
  if (!event.memory_id) link = event.space ? el("span", { class: "mono", text: event.space }) : null; // space.deleted
  else if (event.type === "memory.deleted") link = el("span", { class: "mono", text: event.memory_id });
  else link = el("a", { href: `#/history/${encodeURIComponent(event.memory_id)}`, class: "mono", text: event.memory_id });
  const byWhom = (feedSpace || !event.memory_id) && event.author ? `by ${event.author}` : null;
  const facts = [byWhom, event.memory_id && `revision ${event.revision}`, `via ${event.source}`,
    event.actor && `key ${event.actor}`, event.reason && `reason: ${event.reason}`].filter(Boolean).join(" · ");
  return el("li", { class: "card" },
    el("p", {}, el("strong", { text: verb }), " ", link, " ", el("span", { class: "muted small", text: when(event.created_at) })),
    el("p", { class: "muted small", text: facts }));
}
