"""Streamed response bodies that always clean up after themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator


class StreamBody:
    """A streamed response body whose close() always runs its cleanup.

    A WSGI server calls close() on the body when the client leaves, even if it
    never started iterating; a bare generator would then skip its `finally`,
    leaving the conversation lock and the provider's connection open.
    """

    def __init__(self, chunks: Iterator[bytes], cleanup: Callable[[], None]) -> None:
        self._chunks = chunks
        self._cleanup = cleanup

    def __iter__(self) -> StreamBody:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        try:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
        finally:
            self._cleanup()
