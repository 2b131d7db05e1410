// What every screen shares: the server's limits (rendered into the page), the status line and the error
// line, and moving between screens.

import { ApiError, session } from "./api.js";
import { $, fill } from "./dom.js";

const data = $("console").dataset;

/** Limits from the server's Settings, so the console and the API agree on them. */
export const config = {
  api: data.api,
  spacesApi: data.spacesApi,
  meApi: data.meApi,
  maxBatch: Number(data.maxBatch),
  restorable: data.restorable === "true", // the server keeps deleted memories a while: a delete can be undone
  pageSize: Number(data.pageSize),
  maxContent: Number(data.maxContent),
  maxWords: Number(data.maxWords),
  maxTokens: Number(data.maxTokens),
};

/** A short, polite confirmation ("Saved."), read out by screen readers. */
export function say(text) {
  fill($("status"), text);
}

let spaceTrouble = () => false;

/** `handler(err)` sees every API error about a space first (switcher.js: a space gone, a role lowered) and
 * returns true if it has told the person and moved on. */
export function onSpaceTrouble(handler) {
  spaceTrouble = handler;
}

/** Show an error: the API's own message (from its error envelope) or the exception's. */
export function report(err) {
  const message = err instanceof ApiError ? err.message : `Error: ${err.message}`;
  if (!(err instanceof ApiError)) console.error(err);
  if (err instanceof ApiError && err.status === 401) {
    // The key was mistyped or revoked: back to sign-in, saying why.
    session.clear();
    return go("#/signin", { error: message });
  }
  if (err instanceof ApiError && err.space && spaceTrouble(err)) return undefined;
  return showError(message);
}

function showError(message) {
  const box = $("error");
  fill(box, message);
  box.hidden = false;
}

export function clearMessages() {
  fill($("status"));
  fill($("error"));
  $("error").hidden = true;
}

/** Run an async action from a button or form, reporting what goes wrong and disabling `control` meanwhile. */
export async function act(control, action) {
  clearMessages();
  if (control) control.disabled = true;
  try {
    return await action();
  } catch (err) {
    report(err);
    return undefined;
  } finally {
    if (control) control.disabled = false;
  }
}

let pending = {};

/** Move to another screen; `say` or `error` is shown there (messages otherwise belong to the screen left). */
export function go(hash, { say: text, error } = {}) {
  pending = { text, error };
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** Called on every hash change, before the new screen loads. */
export function navigated() {
  clearMessages();
  if (pending.text) say(pending.text);
  if (pending.error) showError(pending.error);
  pending = {};
}

/** Strings of a comma-separated field, trimmed, without blanks. */
export function splitTags(text) {
  return text.split(",").map((t) => t.trim()).filter(Boolean);
}

/** A form field's trimmed value, or undefined when blank (so the API's default applies). */
export function valueOf(id) {
  const value = $(id).value.trim();
  return value === "" ? undefined : value;
}

/**
 * Keeps only the newest answer of a view: `start()` begins a new request and returns its ticket; `wanted(ticket)`
 * says, once its answer arrives, whether it is still the newest. A filter applied while a page loads, a second
 * search typed before the first returns: the older answer is dropped, never merged with the newer one.
 */
export function latestOnly() {
  let newest = 0;
  return { start: () => ++newest, wanted: (ticket) => ticket === newest };
}
