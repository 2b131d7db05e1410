// Stats and tags, and the whole collection out (export, downloaded as a file) and back in (import). In a
// space: the space's, and its export and import for its admins only (as the API allows).

import { call } from "./api.js";
import { $, el, fill, when } from "./dom.js";
import { act, go, latestOnly } from "./ui.js";
import { filterByTag } from "./memories.js";
import { current, isAdmin, spaceParam } from "./space.js";

export function init() {
  $("export").addEventListener("click", (event) => act(event.currentTarget, download));
  $("import-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, upload);
  });
}

const shown = latestOnly();

export async function show() {
  const ticket = shown.start();
  const space = current();
  const query = { space: spaceParam() };
  $("portability").hidden = Boolean(space) && !isAdmin();
  fill($("overview-title"), space ? `Stats & data of ${space.name}` : "Stats & data");
  const [{ data: stats }, { data: tags }] = await Promise.all([call("/stats", { query }), call("/tags", { query })]);
  if (!shown.wanted(ticket)) return; // shown again (after an import) meanwhile
  const rows = [["Memories", stats.count], ["Words", stats.words], ["Tokens", stats.tokens],
    ["Tags", stats.tags], ["Scopes", stats.scopes],
    ["Oldest", stats.oldest ? when(stats.oldest.created_at) : "–"],
    ["Newest", stats.newest ? when(stats.newest.created_at) : "–"]];
  fill($("stats"), rows.map(([name, value]) => el("div", {}, el("dt", { text: name }), el("dd", { text: String(value) }))));
  fill($("tag-list"), tags.data.length ? tags.data.map((t) => {
    const button = el("button", { type: "button", class: "secondary", text: `${t.tag} (${t.count})`,
      "aria-label": `Show memories tagged ${t.tag} (${t.count})` });
    button.addEventListener("click", () => { filterByTag(t.tag); go("#/memories"); });
    return el("li", {}, button);
  }) : el("li", { class: "muted", text: "No tags yet." }));
}

async function download() {
  // fetch, not a link: the key travels in the Authorization header, never in the URL.
  const space = spaceParam();
  const { data: blob } = await call("/export", { raw: true, query: { space } });
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: space ? `${space}.jsonl` : "memories.jsonl", hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // after the browser has taken the file
}

async function upload() {
  const file = $("import-file").files[0];
  const { data: result } = await call("/import", {
    method: "POST", body: file, contentType: "application/x-ndjson",
    query: { on_conflict: $("import-conflict").value, space: spaceParam() },
  });
  fill($("import-result"), `Imported ${result.total}: ${result.created} created, ${result.overwritten} overwritten, `
    + `${result.skipped} skipped.`);
  await show();
}
