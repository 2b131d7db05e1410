// The public memory API, called with the signed-in key. The key lives in this tab's sessionStorage and
// leaves it only as the Authorization header: never in a URL (URLs end up in logs and history) or a cookie.

const KEY = "memory-api.key";
const USER = "memory-api.user";
const SPACE = "memory-api.space"; // the shared space the console works on; absent: the user's own memories
const SPACE_NAME = "memory-api.space-name"; // its name, to say which space is gone even after a reload

export class ApiError extends Error {
  /** An answer that is not 2xx, carrying the error envelope's message, code and the status, and the space the
   * request named (if it named one), so that a 404 for it can be told from any other. */
  constructor(status, error, space = null) {
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || null;
    this.param = error.param || null;
    this.space = space;
  }

  /** The space the request named is not there for this user: they were removed from it, or it was deleted. */
  get spaceGone() {
    return this.status === 404 && this.code === "space_not_found" && Boolean(this.space);
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get user() { return sessionStorage.getItem(USER) || ""; },
  get space() { return sessionStorage.getItem(SPACE) || null; },
  set space(id) {
    if (id) sessionStorage.setItem(SPACE, id); else sessionStorage.removeItem(SPACE);
    sessionStorage.removeItem(SPACE_NAME);
  },
  get spaceName() { return sessionStorage.getItem(SPACE_NAME) || undefined; },
  set spaceName(name) { sessionStorage.setItem(SPACE_NAME, name); },
  save(key, user) {
    sessionStorage.setItem(KEY, key);
    if (user) sessionStorage.setItem(USER, user); else sessionStorage.removeItem(USER);
  },
  clear() { for (const name of [KEY, USER, SPACE, SPACE_NAME]) sessionStorage.removeItem(name); },
};

let base = "/v1/memory";
let spacesBase = "/v1/spaces";

/** Where the API lives, as the server rendered it into the page (it may be mounted under a prefix). */
export function setBase(url, spacesUrl) {
  base = url;
  spacesBase = spacesUrl || spacesBase;
}

/** Calls `path` (relative to /v1/memory) and returns {data, etag}; throws ApiError with the envelope's message. */
export function call(path, options = {}) {
  return request(base + path, options, options.query?.space ?? options.json?.space ?? null);
}

/** Calls an API `url` that is neither under /v1/memory nor /v1/spaces (GET /v1/me), like call(). */
export function callUrl(url, options = {}) {
  return request(url, options, null);
}

/** Calls `path` relative to /v1/spaces ("", "/space_…", "/space_…/members/…"), like call(). */
export function callSpaces(path, options = {}) {
  const named = /^\/(space_[^/?]+)/.exec(path);
  return request(spacesBase + path, options, named ? decodeURIComponent(named[1]) : null);
}

async function request(url, { method = "GET", query, json, body, contentType, ifMatch, raw = false }, space) {
  const headers = { Authorization: `Bearer ${session.key}` };
  if (session.user) headers["X-Memory-User"] = session.user;
  if (ifMatch) headers["If-Match"] = ifMatch;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.append(name, value);
    }
    if ([...params].length) url += `?${params}`;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body, cache: "no-store", credentials: "omit" });
  } catch (err) {
    throw new ApiError(0, { message: `Could not reach the server: ${err.message}` }, space);
  }
  if (!response.ok) {
    let error = {};
    try { error = (await response.json()).error || {}; } catch { /* not the envelope: say the status */ }
    throw new ApiError(response.status, error, space);
  }
  const etag = response.headers.get("ETag");
  return { data: raw ? await response.blob() : await response.json(), etag };
}
