// The public memory API, called with the signed-in key. The key lives in this tab's sessionStorage and
// leaves it only as the Authorization header: never in a URL (URLs end up in logs and history) or a cookie.

const KEY = "memory-api.key";
const USER = "memory-api.user";

export class ApiError extends Error {
  /** An answer that is not 2xx, carrying the error envelope's message, code and the status. */
  constructor(status, error) {
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || null;
    this.param = error.param || null;
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get user() { return sessionStorage.getItem(USER) || ""; },
  save(key, user) {
    sessionStorage.setItem(KEY, key);
    if (user) sessionStorage.setItem(USER, user); else sessionStorage.removeItem(USER);
  },
  clear() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(USER); },
};

let base = "/v1/memory";

/** Where the API lives, as the server rendered it into the page (it may be mounted under a prefix). */
export function setBase(url) { base = url; }

/** Calls `path` (relative to /v1/memory) and returns {data, etag}; throws ApiError with the envelope's message. */
export async function call(path, { method = "GET", query, json, body, contentType, ifMatch, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${session.key}` };
  if (session.user) headers["X-Memory-User"] = session.user;
  if (ifMatch) headers["If-Match"] = ifMatch;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  let url = base + path;
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
    throw new ApiError(0, { message: `Could not reach the server: ${err.message}` });
  }
  if (!response.ok) {
    let error = {};
    try { error = (await response.json()).error || {}; } catch { /* not the envelope: say the status */ }
    throw new ApiError(response.status, error);
  }
  const etag = response.headers.get("ETag");
  return { data: raw ? await response.blob() : await response.json(), etag };
}
