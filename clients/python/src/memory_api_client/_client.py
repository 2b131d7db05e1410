"""MemoryAPI and AsyncMemoryAPI: the official openai clients, plus `.memory` and `.spaces`.

Subclasses rather than wrappers, so everything the SDK does is unchanged: retries with backoff,
timeouts, `with_options(...)`, its error classes (NotFoundError, ConflictError, ...; `.code`, `.param`
and `.body` from our envelope), and `client.chat.completions` / `client.responses` with memory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import openai
from openai._qs import Querystring

from .async_memory import AsyncMemories
from .async_spaces import AsyncSpaces
from .memory import Memories
from .spaces import Spaces

DEFAULT_URL = "http://127.0.0.1:8000"  # memory-api serve's default (MEMORY_API_HOST, MEMORY_API_PORT)
USER_HEADER = "X-Memory-User"


class PreconditionFailedError(openai.APIStatusError):
    """412 precondition_failed: `if_match` named a version the memory has moved past."""

    status_code = 412


def _settings(api_key: str | None, base_url: Any, user: str | None,
              default_headers: Mapping[str, str] | None) -> dict:
    """The SDK's constructor arguments: our key and URL (MEMORY_API_KEY, MEMORY_API_URL, as for
    `memory-api chat`) rather than OPENAI_API_KEY and api.openai.com."""
    api_key = api_key or os.environ.get("MEMORY_API_KEY")
    if not api_key:
        raise openai.OpenAIError("No memory-api key: pass api_key=... or set MEMORY_API_KEY.")
    if base_url is None:
        base_url = os.environ.get("MEMORY_API_URL", DEFAULT_URL).rstrip("/") + "/v1"
    headers = dict(default_headers or {})
    if user is not None:  # a service key acting for one of its end users
        headers[USER_HEADER] = user
    return {"api_key": api_key, "base_url": base_url, "default_headers": headers or None}


def _status_error(err_msg: str, body: object, response: Any) -> openai.APIStatusError | None:
    if response.status_code == 412:
        data = body.get("error", body) if isinstance(body, Mapping) else body
        return PreconditionFailedError(err_msg, response=response, body=data)
    return None


class MemoryAPI(openai.OpenAI):
    """A memory-api client: `client.memory` for memories, `client.spaces` for shared spaces, and the whole
    OpenAI client besides.

    `base_url` is the API's /v1 (default MEMORY_API_URL + "/v1", else http://127.0.0.1:8000/v1);
    `api_key` a memory-api key (default MEMORY_API_KEY); `user` the end user a service key acts for.
    Every other argument is the openai client's (max_retries, timeout, http_client, ...).
    """

    def __init__(self, *, api_key: str | None = None, base_url: Any = None, user: str | None = None,
                 default_headers: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**_settings(api_key, base_url, user, default_headers), **kwargs)

    @cached_property
    def memory(self) -> Memories:
        """The user's memories (and `.events`, their activity feed)."""
        return Memories(self)

    @cached_property
    def spaces(self) -> Spaces:
        """The shared spaces the user is a member of (and `.members`)."""
        return Spaces(self)

    @property
    def qs(self) -> Querystring:
        # Repeated parameters as `tag=a&tag=b`, the form the API reads (the SDK's default is tag[]=a).
        return Querystring(array_format="repeat")

    def _make_status_error(self, err_msg: str, *, body: object, response: Any) -> openai.APIStatusError:
        return _status_error(err_msg, body, response) or super()._make_status_error(
            err_msg, body=body, response=response)


class AsyncMemoryAPI(openai.AsyncOpenAI):
    """MemoryAPI for asyncio: the same arguments, and every method awaited."""

    def __init__(self, *, api_key: str | None = None, base_url: Any = None, user: str | None = None,
                 default_headers: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**_settings(api_key, base_url, user, default_headers), **kwargs)

    @cached_property
    def memory(self) -> AsyncMemories:
        """The user's memories (and `.events`, their activity feed)."""
        return AsyncMemories(self)

    @cached_property
    def spaces(self) -> AsyncSpaces:
        """The shared spaces the user is a member of (and `.members`)."""
        return AsyncSpaces(self)

    @property
    def qs(self) -> Querystring:
        return Querystring(array_format="repeat")

    def _make_status_error(self, err_msg: str, *, body: object, response: Any) -> openai.APIStatusError:
        return _status_error(err_msg, body, response) or super()._make_status_error(
            err_msg, body=body, response=response)
