// The clients/typescript package (memory-api-client) as a user's program uses it: tests/test_typescript_package.py
// builds the package, type-checks this file against its published types (strict) and runs it with node
// against a live server. It prints what it saw, as JSON, for the test to check.
import { MemoryAPI, MemoryAPIError, type Memory, type MemoryWithETag } from "memory-api-client";
import { API_URL, ALICE_KEY, BOB_KEY } from "./config.js";

async function failure(call: () => Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await call();
  } catch (e) {
    if (!(e instanceof MemoryAPIError)) throw e;
    return { status: e.status, type: e.type, code: e.code, param: e.param, message: e.message,
             error: e.error, isError: e instanceof Error };
  }
  throw new Error("expected a MemoryAPIError");
}

const alice = new MemoryAPI({ baseUrl: `${API_URL}/v1`, apiKey: ALICE_KEY });
const bob = new MemoryAPI({ baseUrl: API_URL, apiKey: BOB_KEY });

const created: MemoryWithETag[] = [];
for (const content of ["Alice keeps bees on the roof.", "Alice's favourite tea is genmaicha.",
                       "Alice cycles to work on Tuesdays."]) {
  created.push(await alice.memory.create({ content, tags: ["ts-package"] }));
}

// One page at a time (two per page, oldest first), then every memory with `for await`.
const first = await alice.memory.list({ limit: 2, order: "asc" });
const second = first.hasNextPage() ? await first.nextPage() : null;
const walked: string[] = [];
for await (const m of alice.memory.list({ limit: 2, order: "asc", tag: ["ts-package"] })) walked.push(m.id);
let pageCount = 0;
for await (const page of first.pages()) pageCount += page.data.length > 0 ? 1 : 0;

// Update with If-Match; the same ETag again is stale: 412.
const target = created[1]!;
const read = await alice.memory.retrieve(target.id);
const updated = await alice.memory.update(target.id, { content: "Alice's favourite tea is hojicha." },
                                          { ifMatch: read.etag ?? "" });
const stale = await failure(() => alice.memory.update(target.id, { content: "a lost update" },
                                                      { ifMatch: read.etag ?? "" }));

const found = await alice.memory.search({ query: "hojicha tea", mode: "keyword", limit: 3 });
const context = await alice.memory.context({ query: "What tea does Alice like?", mode: "keyword" });

const deleted = await alice.memory.delete(target.id);
const missing = await failure(() => alice.memory.retrieve(target.id));
const duplicate = await failure(() => alice.memory.create({ content: "Alice keeps bees on the roof." }));

// A space shared by two users: Alice makes it and adds Bob as a writer; Bob writes into it, Alice reads it.
const space = await alice.spaces.create({ name: "Household" });
await alice.spaces.members.add(space.id, { user: "bob", role: "writer" });
const bobsSpaces = (await bob.spaces.list()).data.map((s) => ({ id: s.id, role: s.role }));
const shared: Memory = await bob.memory.create({ content: "The boiler is serviced every October.", space: space.id });
const inSpace = (await alice.memory.list({ space: space.id })).data;
const members = (await alice.spaces.members.list(space.id)).data.map((m) => `${m.user}:${m.role}`).sort();
const renamed = await alice.spaces.update(space.id, { name: "Home" });
const bobCannotDelete = await failure(() => bob.spaces.delete(space.id, { confirm: true }));
await alice.spaces.members.remove(space.id, "bob");
const bobAfter = await failure(() => bob.spaces.retrieve(space.id));
const spaceDeleted = await alice.spaces.delete(space.id, { confirm: true });

console.log(JSON.stringify({
  created: created.map((m) => m.id),
  etags: created.map((m) => m.etag),
  source: created[0]!.source,
  pages: [first.data.map((m) => m.id), second?.data.map((m) => m.id) ?? null],
  secondHasMore: second?.has_more ?? null,
  pageCount,
  walked,
  updated: { content: updated.content, etag: updated.etag, before: read.etag },
  stale,
  found: found.data.map((m) => ({ id: m.id, score: m.score })),
  context: { text: context.text, ids: context.memory_ids },
  deleted: deleted.deleted,
  missing,
  duplicate,
  space: { id: space.id, role: space.role, name: renamed.name },
  bobsSpaces,
  shared: { id: shared.id, author: shared.author, space: shared.space },
  inSpace: inSpace.map((m) => ({ id: m.id, author: m.author })),
  members,
  bobCannotDelete,
  bobAfter,
  spaceDeleted: spaceDeleted.deleted,
}));
