// Which memories the console works on: the user's own, or those of one shared space they are a member of.
// The space's id is kept in the tab's sessionStorage (with the key); the spaces themselves, with the user's
// role in each, come from GET /v1/spaces, fetched anew on every screen change (switcher.js), so a role
// changed or a membership ended elsewhere shows on the next step.

import { session } from "./api.js";

let spaces = []; // the user's spaces, as last fetched
const names = new Map(); // every space's name seen in this tab: a space that is gone can still be named

/** The user's spaces, as last fetched. */
export function allSpaces() {
  return spaces;
}

export function setSpaces(list) {
  spaces = list;
  for (const space of list) names.set(space.id, space.name);
  const shown = current();
  if (shown) session.spaceName = shown.name;
}

/** The space's name, if this tab has seen it (or, for the space it was on, before a reload). */
export function nameOf(id) {
  return names.get(id) ?? (id === session.space ? session.spaceName : undefined);
}

/** The space the console works on ({id, name, role, inject, user}), or null for the user's own memories. */
export function current() {
  const id = session.space;
  return id ? spaces.find((space) => space.id === id) ?? null : null;
}

/** The `space` to send with a memory request: the current space's id, or undefined for the user's own. */
export function spaceParam() {
  return session.space ?? undefined;
}

/** Work on a space from now on (an id), or on the user's own memories (null). */
export function choose(id) {
  session.space = id || null;
  if (id && names.has(id)) session.spaceName = names.get(id);
}

/** Whether the user may write where the console works: always in their own memories; in a space, as writer or admin. */
export function canWrite() {
  const space = current();
  return !space || space.role !== "reader";
}

/** Whether the user administers the current space (its export and import are for admins only). */
export function isAdmin() {
  return current()?.role === "admin";
}

/** "a reader", "a writer", "an admin". */
export function asRole(role) {
  return `${role === "admin" ? "an" : "a"} ${role}`;
}
