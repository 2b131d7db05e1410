// A browser-style client of memory-api: types generated from openapi.yaml by openapi-typescript, calls
// made with openapi-fetch. tests/test_typescript_client.py type-checks it with tsc (so a spec the
// generated types cannot express fails there) and runs it against a live server; it prints what it saw.
import createClient from "openapi-fetch";
import type { paths, components } from "./schema.js";
import { API_URL, API_KEY } from "./config.js";

type Memory = components["schemas"]["MemoryObject"];

const client = createClient<paths>({ baseUrl: API_URL, headers: { Authorization: `Bearer ${API_KEY}` } });

async function create(content: string): Promise<Memory> {
  const { data, error } = await client.POST("/v1/memory", { body: { content, tags: ["ts"] } });
  if (error) throw new Error(`create failed: ${error.error.message}`);
  return data;
}

const created: Memory[] = [];
for (const content of ["first from TypeScript", "second from TypeScript", "third from TypeScript"]) {
  created.push(await create(content));
}

// List with a cursor, two at a time, oldest first.
const listed: string[] = [];
let after: string | undefined;
let pages = 0;
for (;;) {
  const { data, error } = await client.GET("/v1/memory", { params: { query: { limit: 2, order: "asc", after } } });
  if (error) throw new Error(`list failed: ${error.error.message}`);
  pages += 1;
  listed.push(...data.data.map((m) => m.id));
  if (!data.has_more || data.last_id == null) break;
  after = data.last_id;
}

// Update with If-Match: the ETag of the version we read.
const target = created[1].id;
const read = await client.GET("/v1/memory/{memory_id}", { params: { path: { memory_id: target } } });
const etag = read.response.headers.get("ETag") ?? "";
const updated = await client.PATCH("/v1/memory/{memory_id}", {
  params: { path: { memory_id: target }, header: { "If-Match": etag } },
  body: { content: "second, edited from TypeScript" },
});
// The same ETag again: the memory has moved past it, so 412 and the error envelope.
const stale = await client.PATCH("/v1/memory/{memory_id}", {
  params: { path: { memory_id: target }, header: { "If-Match": etag } },
  body: { content: "a lost update" },
});

const deleted = await client.DELETE("/v1/memory/{memory_id}", { params: { path: { memory_id: target } } });
const missing = await client.GET("/v1/memory/{memory_id}", { params: { path: { memory_id: target } } });

console.log(JSON.stringify({
  created: created.map((m) => m.id),
  source: created[0].source,
  listed,
  pages,
  etag,
  updated: { status: updated.response.status, content: updated.data?.content,
             etag: updated.response.headers.get("ETag") },
  stale: { status: stale.response.status, error: stale.error?.error },
  deleted: deleted.data?.deleted,
  missing: { status: missing.response.status, error: missing.error?.error },
}));
