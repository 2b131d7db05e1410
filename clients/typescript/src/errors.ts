// Errors: every answer other than 2xx is thrown as a MemoryAPIError carrying the API's envelope.
import type { components } from "./schema.js";

/** The API's error envelope's `error`: `{message, type, param, code}` (and, for duplicates, `existing_id`). */
export type ErrorDetail = components["schemas"]["ErrorDetail"];

/**
 * An answer with an error status. `status` is the HTTP status; `type`, `code`, `param` and `message` come
 * from the envelope (`{"error": {...}}`), whole in `error`. `requestId` is the `x-request-id` header, for
 * the server's logs.
 *
 * ```ts
 * try { await client.memory.retrieve(id); }
 * catch (e) { if (e instanceof MemoryAPIError && e.code === "memory_not_found") ... }
 * ```
 */
export class MemoryAPIError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly error: ErrorDetail;
  readonly headers: Headers;
  readonly requestId: string | null;

  constructor(status: number, error: ErrorDetail, headers: Headers) {
    super(`${status} ${error.type}${error.code ? ` (${error.code})` : ""}: ${error.message}`);
    this.name = "MemoryAPIError";
    this.status = status;
    this.type = error.type;
    this.code = error.code ?? null;
    this.param = error.param ?? null;
    this.error = error;
    this.headers = headers;
    this.requestId = headers.get("x-request-id");
  }

  /** The error of an answer, from its body as openapi-fetch parsed it (the envelope, or text when it was not JSON). */
  static from(response: Response, body: unknown): MemoryAPIError {
    const detail = envelopeDetail(body) ?? {
      message: typeof body === "string" && body ? body.slice(0, 500) : response.statusText || "error",
      type: response.status >= 500 ? "server_error" : "invalid_request_error",
      param: null,
      code: null,
    };
    return new MemoryAPIError(response.status, detail, response.headers);
  }
}

function envelopeDetail(body: unknown): ErrorDetail | null {
  if (typeof body !== "object" || body === null || !("error" in body)) return null;
  const error: unknown = (body as { error: unknown }).error;
  if (typeof error !== "object" || error === null) return null;
  const fields = error as Record<string, unknown>;
  if (typeof fields.message !== "string" || typeof fields.type !== "string") return null;
  return {
    ...fields,
    message: fields.message,
    type: fields.type,
    param: typeof fields.param === "string" ? fields.param : null,
    code: typeof fields.code === "string" ? fields.code : null,
  };
}
