// Context preview: the exact memory block chat would inject for a message, with its word and token
// counts against the caps (the server's defaults, or those typed here).

import { call } from "./api.js";
import { $, fill } from "./dom.js";
import { act, latestOnly, valueOf } from "./ui.js";

export function init() {
  $("context-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, preview);
  });
}

export async function show() {
  $("context-query").focus();
}

const previews = latestOnly();

async function preview() {
  const ticket = previews.start();
  const maxWords = Number($("context-max-words").value);
  const maxTokens = Number($("context-max-tokens").value);
  const json = {
    query: valueOf("context-query"), scope: valueOf("context-scope"), mode: valueOf("context-mode"),
    max_words: maxWords || undefined, max_tokens: maxTokens || undefined,
  };
  const { data: block } = await call("/context", { method: "POST", json });
  if (!previews.wanted(ticket)) return;
  fill($("context-words"), `${block.word_count} of ${maxWords}`);
  fill($("context-tokens"), `${block.token_count} of ${maxTokens}`);
  fill($("context-memories"), String(block.memory_ids.length));
  fill($("context-omitted"), String(block.omitted_count));
  fill($("context-text"), block.text || "(nothing: no memory would be injected)");
  $("context-result").hidden = false;
}
