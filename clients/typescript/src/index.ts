// memory-api-client: a typed client of memory-api (see README.md).
export { MemoryAPI, DEFAULT_URL, Memories, Events, Spaces, Members } from "./client.js";
export type * from "./client.js";
export { MemoryAPIError, type ErrorDetail } from "./errors.js";
export { Page, PagePromise, type ListEnvelope } from "./pagination.js";
export type { paths, components, operations } from "./schema.js";
