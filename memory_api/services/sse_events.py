"""Server-sent events from the model provider, split as the SSE specification says.

Lines end only at CRLF, LF or CR (never at U+2028, U+2029 or U+0085, which JSON
may carry raw, as vLLM and JavaScript's JSON.stringify emit them), and an
event ends at a blank line. Each event keeps its exact bytes, so a relay can
pass it on unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_LINE_END = re.compile(rb"\r\n|\n|\r")


@dataclass(frozen=True)
class SSEEvent:
    raw: bytes  # the event's bytes as received, its closing blank line included
    data: str | None  # its data lines joined with "\n" (None: no data field, e.g. a comment)


def _event(raw_lines: list[bytes], data_lines: list[bytes]) -> SSEEvent:
    data = b"\n".join(data_lines).decode("utf-8", "replace") if data_lines else None
    return SSEEvent(b"".join(raw_lines), data)


def iter_events(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """The events of a byte stream, in order; a last event without its blank line is still yielded."""
    buffer = b""
    raw_lines: list[bytes] = []
    data_lines: list[bytes] = []
    for chunk in chunks:
        buffer += chunk
        start = 0
        while (end := _LINE_END.search(buffer, start)) is not None:
            if end.group() == b"\r" and end.end() == len(buffer):
                break  # perhaps the first half of a CRLF split across chunks: wait for the next one
            line = buffer[start:end.start()]
            raw_lines.append(buffer[start:end.end()])
            start = end.end()
            if not line:
                yield _event(raw_lines, data_lines)
                raw_lines, data_lines = [], []
            elif line.startswith(b"data:"):
                value = line[5:]
                data_lines.append(value[1:] if value.startswith(b" ") else value)
        buffer = buffer[start:]
    if buffer:
        raw_lines.append(buffer)
        if buffer.startswith(b"data:"):
            value = buffer.rstrip(b"\r")[5:]
            data_lines.append(value[1:] if value.startswith(b" ") else value)
    if raw_lines:
        yield _event(raw_lines, data_lines)
