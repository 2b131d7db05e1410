"""What every memory call is made of: the Request that the sync and async resources send, and the
helpers _operations.py builds one with (query strings, bodies, headers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from openai import NOT_GIVEN, NotGiven
from openai._constants import RAW_RESPONSE_HEADER
from openai._types import RequestOptions
from typing_extensions import TypedDict

JSONL = "application/x-ndjson"
# Asks the SDK for its raw response (as its own `with_raw_response` does), to read the ETag header too.
RAW = {RAW_RESPONSE_HEADER: "true"}


class RequestExtras(TypedDict, total=False):
    """What every method takes besides its own arguments, as the SDK's own methods do."""

    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, object] | None
    extra_body: Mapping[str, object] | None
    timeout: Any  # seconds, an httpx Timeout, or None for none


def given(**fields: Any) -> dict[str, Any]:
    """The fields the caller gave: NOT_GIVEN ones are left out (None is sent, as JSON null)."""
    return {name: value for name, value in fields.items() if not isinstance(value, NotGiven)}


def tag_list(tag: str | Sequence[str] | NotGiven) -> list | NotGiven:
    """`tag="a"` or `tag=["a", "b"]` (every one must match) as a list."""
    if isinstance(tag, NotGiven):
        return tag
    return [tag] if isinstance(tag, str) else list(tag)


def options(extras: RequestExtras, *, query: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> RequestOptions:
    """The SDK's request options (its RequestOptions) for one call."""
    opts: RequestOptions = {}
    merged_headers = {**(headers or {}), **(extras.get("extra_headers") or {})}
    if merged_headers:
        opts["headers"] = merged_headers
    params = {**(query or {}), **(extras.get("extra_query") or {})}
    if params:
        opts["params"] = params
    extra_body = extras.get("extra_body")
    if extra_body:
        opts["extra_json"] = extra_body
    if "timeout" in extras and not isinstance(extras["timeout"], NotGiven):
        opts["timeout"] = extras["timeout"]
    return opts


def write_headers(if_match: str | NotGiven = NOT_GIVEN,
                  idempotency_key: str | NotGiven = NOT_GIVEN) -> dict[str, str]:
    """`If-Match` (the ETag of the version the change is meant for: 412 if the memory moved past it)
    and `Idempotency-Key` (a retry with the same key is answered once, changing nothing)."""
    headers = {}
    if not isinstance(if_match, NotGiven):
        headers["If-Match"] = if_match
    if not isinstance(idempotency_key, NotGiven):
        headers["Idempotency-Key"] = idempotency_key
    return headers


def memory_path(memory_id: str, suffix: str = "") -> str:
    if not memory_id:
        raise ValueError(f"Expected a non-empty value for `memory_id` but received {memory_id!r}")
    return f"/memory/{quote(memory_id, safe='')}{suffix}"


def space_path(space_id: str, suffix: str = "", user: str | None = None) -> str:
    """/spaces/{space_id} + `suffix` (+ a member's user id), each id one path segment."""
    path = id_path("/spaces/", space_id, suffix)
    return path if user is None else id_path(path, user)


def space_param(space: str | NotGiven | None) -> dict[str, str]:
    """The `space` field or query parameter, when one is named (None: the user's own memories, as omitted)."""
    return {} if space is None or isinstance(space, NotGiven) else {"space": space}


def confirmed(confirm: bool) -> str:
    """A `confirm` query parameter: "true" only for True (the server refuses anything else, naming it)."""
    return "true" if confirm is True else "false"


def id_path(prefix: str, value: str, suffix: str = "") -> str:
    """`prefix` + an id (a suggestion's, a capture job's) as one path segment + `suffix`."""
    if not value:
        raise ValueError(f"Expected a non-empty id but received {value!r}")
    return f"{prefix}{quote(value, safe='')}{suffix}"


def import_content(data: str | bytes) -> bytes:
    """An export (JSON Lines), as the bytes to send."""
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def with_etag(raw: Any) -> Any:
    """The memory of a raw response, carrying the response's ETag as `.etag` (for `if_match=`)."""
    memory = raw.parse()
    memory.etag = raw.headers.get("ETag")
    return memory


@dataclass(frozen=True)
class Request:
    """One call of `client.memory`, the same for the sync and the async client: what to send, and how to
    read the answer. The resources send it with the SDK's own methods (retries, timeouts, error classes)."""

    method: str  # "get", "post", "patch" or "delete"
    path: str
    cast_to: Any  # the answer's type (a list's, read a page at a time: one item's)
    options: RequestOptions  # the SDK's request options (`options()`)
    body: Any = None  # JSON
    content: bytes | None = None  # a body sent as it is (an import)
    etag: bool = False  # the answer is a memory that takes its `.etag` from the response's header

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of the SDK's `_get` / `_post` / `_patch` / `_delete` for this call."""
        if self.method == "get":
            return {"cast_to": self.cast_to, "options": self.options}
        return {"cast_to": self.cast_to, "options": self.options, "body": self.body, "content": self.content}

    def answer(self, response: Any) -> Any:
        """What the method returns for the SDK's `response`."""
        return with_etag(response) if self.etag else response
