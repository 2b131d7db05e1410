// Cursor pages: a list call answers one page (`data`, `has_more`, `last_id`); `for await` walks them all.

/** The list envelope of the API: a page of items and the cursor to the next. */
export interface ListEnvelope<T> {
  data: T[];
  has_more: boolean;
  first_id?: string | null;
  last_id?: string | null;
}

/** One page of a list, and the way to the next (`after` = this page's `last_id`). */
export class Page<T> implements AsyncIterable<T> {
  readonly data: T[];
  readonly has_more: boolean;
  readonly first_id: string | null;
  readonly last_id: string | null;
  readonly #fetchAfter: ((after: string) => Promise<Page<T>>) | null;

  constructor(body: ListEnvelope<T>, fetchAfter: ((after: string) => Promise<Page<T>>) | null) {
    this.data = body.data;
    this.has_more = body.has_more;
    this.first_id = body.first_id ?? null;
    this.last_id = body.last_id ?? null;
    this.#fetchAfter = fetchAfter;
  }

  /** Whether there is a page after this one. */
  hasNextPage(): boolean {
    return this.has_more && this.last_id !== null && this.#fetchAfter !== null;
  }

  /** The next page (the same query, `after` this page's last item); throws when there is none. */
  async nextPage(): Promise<Page<T>> {
    if (!this.hasNextPage() || this.last_id === null || this.#fetchAfter === null) {
      throw new Error("no next page: check hasNextPage() first");
    }
    return this.#fetchAfter(this.last_id);
  }

  /** This page and every page after it. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> = this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.nextPage();
      yield page;
    }
  }

  /** Every item of this page and the pages after it. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.data;
  }
}

/**
 * What a list method returns: await it for the first page, or `for await` over it for every item of every
 * page (fetched as the loop needs them).
 */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  readonly #first: Promise<Page<T>>;

  constructor(first: () => Promise<Page<T>>) {
    // Started at once (as a plain request would be), not when awaited; a failure surfaces where awaited.
    this.#first = first();
    this.#first.catch(() => undefined);
  }

  then<R1 = Page<T>, R2 = never>(
    onfulfilled?: ((page: Page<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#first.then(onfulfilled, onrejected);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    yield* await this.#first;
  }
}
