// Search: the API's own search, in the mode chosen (hybrid, semantic, keyword or the server's default).

import { call } from "./api.js";
import { $, fill, memoryCard } from "./dom.js";
import { act, latestOnly, valueOf } from "./ui.js";
import { actionsFor } from "./memories.js";
import { spaceParam } from "./space.js";

let resultsOf; // the space (or undefined: own memories) the results on show were searched in

export function init() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.submitter, runSearch);
  });
}

const searches = latestOnly();

export async function show() {
  if (resultsOf !== spaceParam()) { // switched: the results on show, or on their way, are another space's
    searches.start();
    resultsOf = spaceParam();
    fill($("search-results"));
    fill($("search-count"));
  }
  $("search-query").focus();
}

async function runSearch() {
  const ticket = searches.start();
  const query = { query: $("search-query").value, mode: valueOf("search-mode"), space: spaceParam() };
  const { data: results } = await call("/search", { query });
  if (!searches.wanted(ticket)) return; // a newer search was sent meanwhile
  fill($("search-results"), results.data.map((memory) => memoryCard(memory, {
    actions: actionsFor(memory), extra: [`score ${memory.score.toFixed(3)}`],
  })));
  const n = results.data.length;
  fill($("search-count"), `${n} ${n === 1 ? "result" : "results"} (${results.mode} search).`);
}
