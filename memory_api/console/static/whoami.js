// The header's "Signed in as …": the user the key acts for (GET /v1/me), asked once per sign-in. With a service
// key it is the user named at sign-in, and the service's name.

import { callUrl, session } from "./api.js";
import { $, el, fill } from "./dom.js";
import { config, latestOnly } from "./ui.js";

const asks = latestOnly();
let me = null; // GET /v1/me's answer for this sign-in, once it has come

/** Forget who was signed in (at sign-in and sign-out); the header says only what is known meanwhile. */
export function forget() {
  asks.start(); // an answer on its way is the last person's
  me = null;
}

/** Say in the header who is signed in, asking the server the first time. */
export async function show() {
  render();
  if (me || !session.key) return;
  const ticket = asks.start();
  try {
    const { data } = await callUrl(config.meApi);
    if (!asks.wanted(ticket)) return;
    me = data;
  } catch {
    return; // the screen's own request reports a key that does not work; the header stays as it was
  }
  render();
}

function render() {
  const who = $("session-who");
  if (!session.key) return fill(who);
  if (!me) return fill(who, session.user ? `Acting for ${session.user}` : "Signed in");
  if (me.kind === "service") {
    return fill(who, "Acting for ", el("strong", { text: me.id }), ` (service key ${me.service})`);
  }
  return fill(who, "Signed in as ", el("strong", { text: me.id }));
}
