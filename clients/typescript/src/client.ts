// MemoryAPI: `client.memory` and `client.spaces`, the resource shape of the Python client (memory_api_client),
// on openapi-fetch with the types openapi-typescript generates from openapi.yaml (src/schema.ts).
import createClient, { type Client } from "openapi-fetch";
import { MemoryAPIError } from "./errors.js";
import { Page, PagePromise } from "./pagination.js";
import type { components, operations, paths } from "./schema.js";

type Schemas = components["schemas"];
type Query<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;

export type Memory = Schemas["MemoryObject"];
/** A memory as a write or a read by id answered it, with its version's ETag (for `ifMatch`). */
export type MemoryWithETag = Memory & { etag: string | null };
export type ScoredMemory = Schemas["ScoredMemoryObject"];
export type MemoryCreateParams = Schemas["MemoryCreateRequest"];
export type MemoryUpdateParams = Schemas["MemoryUpdateRequest"];
export type MemoryListParams = Query<"listMemories">;
export type MemorySearchParams = Schemas["SearchRequest"];
export type MemorySearchResult = Schemas["SearchList"];
export type MemoryContextParams = Schemas["ContextRequest"];
export type MemoryContext = Schemas["MemoryContext"];
export type MemoryDeleted = Schemas["MemoryDeleted"];
export type MemoryDeletedAll = Schemas["DeletedAll"];
export type MemoryBatchCreated = Schemas["BatchCreated"];
export type MemoryBatchDeleted = Schemas["BatchDeleted"];
export type MemoryEvent = Schemas["MemoryEvent"];
export type MemoryEventListParams = Query<"listMemoryEvents">;
export type MemoryHistory = Schemas["HistoryList"];
export type MemoryStats = Schemas["MemoryStats"];
export type TagList = Schemas["TagList"];
export type MemoryExport = Schemas["MemoryExport"];
export type MemoryImportParams = Schemas["MemoryImportRequest"];
export type ImportResult = Schemas["ImportResult"];
export type Space = Schemas["SpaceObject"];
export type SpaceDeleted = Schemas["SpaceDeleted"];
export type SpaceMember = Schemas["MemberObject"];
export type SpaceMemberAddParams = Schemas["MemberCreateRequest"];
export type SpaceMemberUpdateParams = Schemas["MemberUpdateRequest"];
export type SpaceMemberDeleted = Schemas["MemberDeleted"];
export type Role = SpaceMember["role"];

/** Per-request options, the last argument of every method. */
export interface RequestOptions {
  /** Makes a write safe to retry: the same key and request again is answered as the first time. */
  idempotencyKey?: string;
  /** Only if the memory is still at this ETag (else MemoryAPIError 412, code precondition_failed). */
  ifMatch?: string;
  /** More headers for this request. */
  headers?: Record<string, string>;
  /** Cancels the request. */
  signal?: AbortSignal;
}

export interface MemoryAPIOptions {
  /**
   * The service: its root or its /v1 (default: MEMORY_API_URL where `process.env` exists, else
   * http://127.0.0.1:8000).
   */
  baseUrl?: string;
  /** A memory-api key (default: MEMORY_API_KEY where `process.env` exists). */
  apiKey?: string;
  /** With a service key: the end user it acts for (`X-Memory-User`). */
  user?: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** The fetch to use (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
}

export const DEFAULT_URL = "http://127.0.0.1:8000";

type Raw = Client<paths, `${string}/${string}`>;

function env(name: string): string | undefined {
  const process = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return process?.env?.[name] || undefined;
}

function headersOf(options: RequestOptions | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...options?.headers };
  if (options?.idempotencyKey !== undefined) headers["Idempotency-Key"] = options.idempotencyKey;
  if (options?.ifMatch !== undefined) headers["If-Match"] = options.ifMatch;
  return headers;
}

function init(options: RequestOptions | undefined): { headers: Record<string, string>; signal?: AbortSignal } {
  return options?.signal ? { headers: headersOf(options), signal: options.signal } : { headers: headersOf(options) };
}

/** The data of a 2xx answer; any other is thrown as a MemoryAPIError. */
async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>):
    Promise<{ data: T; response: Response }> {
  const { data, error, response } = await call;
  if (!response.ok) throw MemoryAPIError.from(response, error);
  if (data === undefined) throw MemoryAPIError.from(response, "the answer had no JSON body");
  return { data, response };
}

async function withETag(call: Promise<{ data?: Memory; error?: unknown; response: Response }>):
    Promise<MemoryWithETag> {
  const { data, response } = await unwrap(call);
  return { ...data, etag: response.headers.get("ETag") };
}

/** `client.memory.events`: the activity feed. */
export class Events {
  constructor(private readonly raw: Raw) {}

  /** Every create, update and delete of the user's memories (or with `space`, a shared space's), newest first. */
  list(params: MemoryEventListParams = {}, options?: RequestOptions): PagePromise<MemoryEvent> {
    const page = async (query: MemoryEventListParams): Promise<Page<MemoryEvent>> => {
      const { data } = await unwrap(this.raw.GET("/v1/memory/events", { params: { query }, ...init(options) }));
      return new Page(data, (after) => page({ ...query, after }));
    };
    return new PagePromise(() => page(params));
  }
}

/** `client.memory`: the user's memories (a shared space's, with `space`). */
export class Memories {
  readonly events: Events;

  constructor(private readonly raw: Raw) {
    this.events = new Events(raw);
  }

  /**
   * A page of memories, newest first (`order: "asc"`: oldest first). Await it for one page
   * (`data`, `has_more`, `last_id`, `nextPage()`), or `for await` over it for every memory of every page.
   */
  list(params: MemoryListParams = {}, options?: RequestOptions): PagePromise<Memory> {
    const page = async (query: MemoryListParams): Promise<Page<Memory>> => {
      const { data } = await unwrap(this.raw.GET("/v1/memory", { params: { query }, ...init(options) }));
      return new Page(data, (after) => page({ ...query, after, before: undefined }));
    };
    return new PagePromise(() => page(params));
  }

  /** Store a memory (in a shared `space`, if named). The same content again: 409 duplicate_memory. */
  create(params: MemoryCreateParams, options?: RequestOptions): Promise<MemoryWithETag> {
    return withETag(this.raw.POST("/v1/memory", { body: params, ...init(options) }));
  }

  /** Store several memories, all or none. */
  async createBatch(params: Schemas["BatchCreateRequest"], options?: RequestOptions): Promise<MemoryBatchCreated> {
    return (await unwrap(this.raw.POST("/v1/memory/batch", { body: params, ...init(options) }))).data;
  }

  /** One memory by id (the user's own or one of their spaces'), with its `etag`. */
  retrieve(memoryId: string, options?: RequestOptions): Promise<MemoryWithETag> {
    return withETag(this.raw.GET("/v1/memory/{memory_id}", {
      params: { path: { memory_id: memoryId } }, ...init(options) }));
  }

  /** Change what is given (metadata and tags are replaced whole; null clears). `ifMatch`: only from that version. */
  update(memoryId: string, params: MemoryUpdateParams, options?: RequestOptions): Promise<MemoryWithETag> {
    return withETag(this.raw.PATCH("/v1/memory/{memory_id}", {
      params: { path: { memory_id: memoryId } }, body: params, ...init(options) }));
  }

  /** Delete a memory. */
  async delete(memoryId: string, options?: RequestOptions): Promise<MemoryDeleted> {
    return (await unwrap(this.raw.DELETE("/v1/memory/{memory_id}", {
      params: { path: { memory_id: memoryId } }, ...init(options) }))).data;
  }

  /** Delete several memories; each id's outcome says whether there was one. */
  async deleteBatch(params: Schemas["BatchDeleteRequest"], options?: RequestOptions): Promise<MemoryBatchDeleted> {
    return (await unwrap(this.raw.POST("/v1/memory/batch_delete", { body: params, ...init(options) }))).data;
  }

  /** Delete every memory of the user (or of a shared `space`: its admins only); needs `confirm: true`. */
  async deleteAll(params: { confirm: true; space?: string }, options?: RequestOptions): Promise<MemoryDeletedAll> {
    const query = { confirm: "true" as const, ...(params.space ? { space: params.space } : {}) };
    if (params.confirm !== true) throw new Error("deleteAll needs { confirm: true }");
    return (await unwrap(this.raw.DELETE("/v1/memory", { params: { query }, ...init(options) }))).data;
  }

  /** The memories that best match `query`, best first, each with its `score`. */
  async search(params: MemorySearchParams, options?: RequestOptions): Promise<MemorySearchResult> {
    return (await unwrap(this.raw.POST("/v1/memory/search", { body: params, ...init(options) }))).data;
  }

  /** The memory block chat would inject for a message `query`, without calling a model. */
  async context(params: MemoryContextParams = {}, options?: RequestOptions): Promise<MemoryContext> {
    return (await unwrap(this.raw.POST("/v1/memory/context", { body: params, ...init(options) }))).data;
  }

  /** The memory's previous versions, newest first. */
  async history(memoryId: string, options?: RequestOptions): Promise<MemoryHistory> {
    return (await unwrap(this.raw.GET("/v1/memory/{memory_id}/history", {
      params: { path: { memory_id: memoryId } }, ...init(options) }))).data;
  }

  /** Bring a revision from history back, as a new revision. */
  revert(memoryId: string, params: Schemas["RevertRequest"], options?: RequestOptions): Promise<MemoryWithETag> {
    return withETag(this.raw.POST("/v1/memory/{memory_id}/revert", {
      params: { path: { memory_id: memoryId } }, body: params, ...init(options) }));
  }

  /** Undo the delete of a memory (within the server's retention). */
  restore(memoryId: string, options?: RequestOptions): Promise<MemoryWithETag> {
    return withETag(this.raw.POST("/v1/memory/{memory_id}/restore", {
      params: { path: { memory_id: memoryId } }, ...init(options) }));
  }

  /** How many memories, words and tokens; tags, scopes, oldest and newest. */
  async stats(params: Query<"getMemoryStats"> = {}, options?: RequestOptions): Promise<MemoryStats> {
    return (await unwrap(this.raw.GET("/v1/memory/stats", { params: { query: params }, ...init(options) }))).data;
  }

  /** Every tag with how many memories carry it, most used first. */
  async tags(params: Query<"listMemoryTags"> = {}, options?: RequestOptions): Promise<TagList> {
    return (await unwrap(this.raw.GET("/v1/memory/tags", { params: { query: params }, ...init(options) }))).data;
  }

  /** Every memory, as one JSON object (`format=json`): what `import` takes back. */
  async export(params: { space?: string } = {}, options?: RequestOptions): Promise<MemoryExport> {
    const { data } = await unwrap(this.raw.GET("/v1/memory/export", {
      params: { query: { ...params, format: "json" } }, ...init(options) }));
    return data as MemoryExport;
  }

  /** Restore an export (JSON); ids that exist are kept (`on_conflict: "skip"`) or replaced ("overwrite"). */
  async import(body: MemoryImportParams, params: Query<"importMemories"> = {}, options?: RequestOptions):
      Promise<ImportResult> {
    return (await unwrap(this.raw.POST("/v1/memory/import", {
      params: { query: params }, body, ...init(options) }))).data;
  }
}

/** `client.spaces.members`: who belongs to a space, and with which role. */
export class Members {
  constructor(private readonly raw: Raw) {}

  /** Every member of the space (any member may look), with role and inject switch. */
  list(spaceId: string, options?: RequestOptions): PagePromise<SpaceMember> {
    return new PagePromise(async () => {
      const { data } = await unwrap(this.raw.GET("/v1/spaces/{space_id}/members", {
        params: { path: { space_id: spaceId } }, ...init(options) }));
      return new Page(data, null);
    });
  }

  /** Add a user as reader (the default), writer or admin; admins only. */
  async add(spaceId: string, params: SpaceMemberAddParams, options?: RequestOptions): Promise<SpaceMember> {
    return (await unwrap(this.raw.POST("/v1/spaces/{space_id}/members", {
      params: { path: { space_id: spaceId } }, body: params, ...init(options) }))).data;
  }

  /** Change a member's role (admins only) or inject switch (admins, or the member themselves). */
  async update(spaceId: string, user: string, params: SpaceMemberUpdateParams, options?: RequestOptions):
      Promise<SpaceMember> {
    return (await unwrap(this.raw.PATCH("/v1/spaces/{space_id}/members/{user}", {
      params: { path: { space_id: spaceId, user } }, body: params, ...init(options) }))).data;
  }

  /** Remove a member (admins only), or leave (`user`: your own id). */
  async remove(spaceId: string, user: string, options?: RequestOptions): Promise<SpaceMemberDeleted> {
    return (await unwrap(this.raw.DELETE("/v1/spaces/{space_id}/members/{user}", {
      params: { path: { space_id: spaceId, user } }, ...init(options) }))).data;
  }
}

/** `client.spaces`: the shared spaces the user is a member of. A space's memories: `client.memory` with `space`. */
export class Spaces {
  readonly members: Members;

  constructor(private readonly raw: Raw) {
    this.members = new Members(raw);
  }

  /** A new space; you are its first admin. */
  async create(params: Schemas["SpaceCreateRequest"], options?: RequestOptions): Promise<Space> {
    return (await unwrap(this.raw.POST("/v1/spaces", { body: params, ...init(options) }))).data;
  }

  /** The spaces you are a member of, with your role in each. */
  list(options?: RequestOptions): PagePromise<Space> {
    return new PagePromise(async () => {
      const { data } = await unwrap(this.raw.GET("/v1/spaces", init(options)));
      return new Page(data, null);
    });
  }

  /** A space you are a member of (any other: 404). */
  async retrieve(spaceId: string, options?: RequestOptions): Promise<Space> {
    return (await unwrap(this.raw.GET("/v1/spaces/{space_id}", {
      params: { path: { space_id: spaceId } }, ...init(options) }))).data;
  }

  /** Rename a space; admins only. */
  async update(spaceId: string, params: Schemas["SpaceUpdateRequest"], options?: RequestOptions): Promise<Space> {
    return (await unwrap(this.raw.PATCH("/v1/spaces/{space_id}", {
      params: { path: { space_id: spaceId } }, body: params, ...init(options) }))).data;
  }

  /** Delete a space and every memory in it, for every member; admins only, with `confirm: true`. */
  async delete(spaceId: string, params: { confirm: true }, options?: RequestOptions): Promise<SpaceDeleted> {
    if (params.confirm !== true) throw new Error("spaces.delete needs { confirm: true }");
    return (await unwrap(this.raw.DELETE("/v1/spaces/{space_id}", {
      params: { path: { space_id: spaceId }, query: { confirm: "true" } }, ...init(options) }))).data;
  }
}

/**
 * A memory-api client.
 *
 * ```ts
 * const client = new MemoryAPI({ baseUrl: "http://127.0.0.1:8000", apiKey: "sk-mem-..." });
 * const memory = await client.memory.create({ content: "I am vegetarian." });
 * for await (const m of client.memory.list()) console.log(m.id, m.content);
 * ```
 *
 * `raw` is the underlying openapi-fetch client, typed with every path of the API (chat, responses, ...).
 */
export class MemoryAPI {
  readonly memory: Memories;
  readonly spaces: Spaces;
  readonly raw: Raw;
  readonly baseUrl: string;

  constructor(options: MemoryAPIOptions = {}) {
    const apiKey = options.apiKey ?? env("MEMORY_API_KEY");
    if (!apiKey) throw new Error("No memory-api key: pass { apiKey } or set MEMORY_API_KEY.");
    // The spec's paths start with /v1: the base is the service's root (a trailing /v1 is accepted too).
    this.baseUrl = (options.baseUrl ?? env("MEMORY_API_URL") ?? DEFAULT_URL).replace(/\/+$/, "").replace(/\/v1$/, "");
    const headers: Record<string, string> = { ...options.headers, Authorization: `Bearer ${apiKey}` };
    if (options.user !== undefined) headers["X-Memory-User"] = options.user;
    this.raw = createClient<paths>({
      baseUrl: this.baseUrl,
      headers,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.memory = new Memories(this.raw);
    this.spaces = new Spaces(this.raw);
  }
}
