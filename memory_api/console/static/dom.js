// Building the page from data without HTML parsing: every string becomes a text node (or a property),
// so a memory holding <script> or <img onerror=...> shows as those characters and never runs.
// (The page's Content-Security-Policy also enforces Trusted Types: an innerHTML assignment would throw.)

/** An element: `props` are properties or attributes (never event handlers); children are nodes or text. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) throw new Error(`el(): bind ${name} with addEventListener`);
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace a node's children (text only ever arrives as text nodes). */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const $ = (id) => document.getElementById(id);

/** Unix seconds as the reader's local date and time. */
export function when(seconds) {
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Unix seconds as the UTC day, the way the injected block dates memories: "8 May 2023". */
export function day(seconds) {
  return new Date(seconds * 1000).toLocaleDateString("en-GB", { timeZone: "UTC", dateStyle: "medium" });
}

/** What a memory says about time, for its card: when it happened, whether it still holds, when it goes. */
function timeFacts(memory) {
  const now = Date.now() / 1000;
  return [
    memory.occurred_at != null ? `happened ${day(memory.occurred_at)}` : null,
    memory.valid_until != null
      ? (memory.valid_until <= now ? `past: no longer holds since ${day(memory.valid_until)}`
        : `holds until ${day(memory.valid_until)}`)
      : null,
    memory.expires_at != null ? `forgotten ${when(memory.expires_at)}` : null,
    memory.supersedes ? `replaces ${memory.supersedes}` : null,
  ];
}

/** A memory (or a version of one) as a card: its content as text, then what describes it; `select` (a
 * checkbox, in the list) goes before it, `actions` after. */
export function memoryCard(memory, { actions = [], extra = [], select = null } = {}) {
  const past = memory.valid_until != null && memory.valid_until <= Date.now() / 1000;
  const facts = [
    memory.space ? `by ${memory.author ?? "an unknown member"}` : null, // in a space: which member wrote it
    memory.scope ? `scope ${memory.scope}` : "global",
    memory.source ? `via ${memory.source}` : null,
    memory.updated_at ? `updated ${when(memory.updated_at)}` : null,
    memory.word_count !== undefined ? `${memory.word_count} words, ${memory.token_count} tokens` : null,
    ...timeFacts(memory),
    ...extra,
  ].filter(Boolean);
  return el("li", { class: past ? "card past" : "card" },
    select,
    el("div", { class: "body" },
      el("p", { class: "content", text: memory.content }),
      memory.tags && memory.tags.length
        ? el("ul", { class: "tags", "aria-label": "Tags" }, memory.tags.map((tag) => el("li", { text: tag })))
        : null,
      el("p", { class: "muted small", text: facts.join(" · ") }),
      memory.reason ? el("p", { class: "muted small", text: `Reason: ${memory.reason}` }) : null,
      metadataList(memory.metadata)),
    actions.length ? el("div", { class: "row" }, actions) : null,
  );
}

function metadataList(metadata) {
  const entries = Object.entries(metadata || {});
  if (!entries.length) return null;
  return el("dl", { class: "metadata small" },
    entries.map(([key, value]) => el("div", {}, el("dt", { text: key }), el("dd", { text: value }))));
}

/** A link styled as a button. */
export function linkButton(text, href, label) {
  return el("a", { class: "button secondary", href, text, "aria-label": label });
}

/** The first `n` characters of a memory's content, on one line: how a button or a message names it. */
export function short(text, n = 40) {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}
