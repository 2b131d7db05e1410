"""The upstream model provider, reached with the official `openai` SDK.

Any OpenAI-compatible server works (OpenAI, vLLM, Ollama...). Provider errors
become our envelope with the provider's own message (secrets masked), type, param and code (a
client tells `context_length_exceeded` from `insufficient_quota` by them): its
429 stays 429 (with its Retry-After), its other 4xx become 400, its 401/403
(our provider key refused) 424, which no SDK retries; 5xx and connection
failures 502, timeouts 504.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import metrics
from ..config import Settings
from ..errors import ApiError, BadGateway, GatewayTimeout, ProviderError, ServiceUnavailable
from ..lazy_import import LazyModule
from ..redaction import mask_secrets
from .sse_events import SSEEvent, iter_events

if TYPE_CHECKING:
    import openai
else:  # imported on first use (lazy_import.py)
    openai = LazyModule("openai")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderFields:
    """The provider's error envelope as it sent it (what the SDK parsed from its body)."""

    message: str
    type: str | None
    param: str | None
    code: str | None

    @classmethod
    def of(cls, err: openai.APIStatusError) -> ProviderFields:
        body = err.body if isinstance(err.body, dict) else {}

        def text(name: str) -> str | None:
            value = body.get(name)
            # vLLM sends its status as an integer `code`; our envelope's fields are strings.
            return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None

        # A provider may quote the key it refused: never relay (or log) it, nor anything shaped like a key.
        message = text("message") or err.message or "The model provider refused the request."
        return cls(mask_secrets(message, sent_secrets(err)), text("type"), text("param"), text("code"))


def sent_secrets(err: openai.OpenAIError) -> list[str]:
    """The credentials the failed request carried (this server's provider key), to mask where quoted."""
    headers = getattr(getattr(err, "request", None), "headers", None)
    if headers is None:
        return []
    values = (headers.get(name) for name in ("authorization", "api-key", "x-api-key"))
    return [value.removeprefix("Bearer ").strip() for value in values if value]


def map_provider_error(err: Exception) -> ApiError:
    """Our error for an exception raised by the openai SDK."""
    if isinstance(err, openai.APITimeoutError):
        return GatewayTimeout("The model provider did not answer in time.")
    if isinstance(err, openai.APIConnectionError):
        return BadGateway("Could not reach the model provider.", code="upstream_unreachable")
    if isinstance(err, openai.APIStatusError):
        return _provider_status_error(err)
    if isinstance(err, openai.OpenAIError):  # e.g. an error event inside a stream
        return BadGateway(f"The model provider failed: {mask_secrets(str(err), sent_secrets(err))}",
                          code="upstream_error")
    raise err


def _read_rest(chunks: Iterator[bytes]) -> None:
    """Read what follows a finished stream's [DONE] (normally nothing but the body's end), so its
    connection goes back to the pool: closed unread, it would be dropped, and the next stream would
    pay for a new connection (a TLS handshake, with a remote provider). A provider that goes on
    sending after [DONE] is not followed far: past 64 KiB the connection is dropped after all."""
    read = 0
    try:
        for chunk in chunks:
            read += len(chunk)
            if read > 65536:
                return
    except Exception:  # the answer is complete; a broken connection is just not reused
        pass


def provider_json(content: bytes) -> dict[str, Any]:
    """A provider's 200 answer as the JSON object every endpoint relayed here answers (a completion, a
    response, a model list): invalid JSON, or JSON of another type (an array, a string, null), is a 502
    saying so, since what follows adds our fields to it and reads its choices."""
    try:
        answer = json.loads(content)
    except json.JSONDecodeError:
        raise BadGateway("The model provider answered with invalid JSON.", code="upstream_error") from None
    if not isinstance(answer, dict):
        raise BadGateway(f"The model provider's answer was not a JSON object (it was {_json_type(answer)}).",
                         code="upstream_error")
    return answer


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _untransformed(body: dict[str, Any]) -> dict[str, Any]:
    """The SDK's arguments for a request body that it should send as it is.

    The messages travel in `extra_body`, which the SDK merges into the JSON unchanged, rather than as
    `messages`, which it walks message by message to transform its typed dicts: about a millisecond
    per call with memories injected, for a body we pass on as the client sent it anyway.
    """
    return {"messages": [], "extra_body": body}


def _provider_status_error(err: openai.APIStatusError) -> ApiError:
    found = ProviderFields.of(err)
    status = err.status_code
    provider_headers = dict(err.response.headers)
    if status in (401, 403):
        # Not the client's key but ours: no retry can fix it, so not a 5xx (which every SDK retries).
        return ProviderError(
            424, f"The model provider refused this server's provider key (check OPENAI_API_KEY): {found.message}",
            type="upstream_error", code="upstream_auth_failed", headers={"x-should-retry": "false"},
            provider_headers=provider_headers, provider_status=status)
    if status == 429:
        retry_after = err.response.headers.get("retry-after")
        return ProviderError(429, found.message, type=found.type or "rate_limit_error", param=found.param,
                             code=found.code, headers={"Retry-After": retry_after} if retry_after else None,
                             provider_headers=provider_headers, provider_status=status)
    if 400 <= status < 500:
        return ProviderError(400, found.message, type=found.type or "invalid_request_error", param=found.param,
                             code=found.code, provider_headers=provider_headers, provider_status=status)
    # A 502 is our answer (the gateway's), so its message may say where the failure came from.
    failed = BadGateway(f"The model provider failed ({status}): {found.message}", code="upstream_error")
    failed.provider_headers, failed.provider_status = provider_headers, status
    return failed


@dataclass
class ProviderStream:
    """A streamed provider answer: its events (exact bytes) and its response headers."""

    events: Iterator[SSEEvent]
    headers: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[SSEEvent]:
        return self.events


class Upstream:
    """Chat completions against the configured provider."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: openai.OpenAI | None = None

    @property
    def configured(self) -> bool:
        return self._settings.provider_configured

    def ensure_configured(self) -> None:
        """Raise the 503 that names the setting to set, if no provider is configured."""
        if not self.configured:
            raise ServiceUnavailable(
                "No model provider is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a "
                "provider other than OpenAI).",
                code="provider_not_configured",
            )

    def sdk(self) -> openai.OpenAI:
        """The configured SDK client, for the provider's other endpoints (services/provider_api.py)."""
        return self._sdk()

    def _sdk(self) -> openai.OpenAI:
        self.ensure_configured()
        if self._client is None:
            s = self._settings
            self._client = openai.OpenAI(
                # A local provider (Ollama, vLLM) may need no key, but the SDK wants one.
                api_key=s.openai_api_key or "unused",
                base_url=s.openai_base_url or None,
                timeout=openai.Timeout(s.upstream_timeout, connect=s.upstream_connect_timeout),
                max_retries=s.upstream_retries,
            )
        return self._client

    def complete(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One non-streamed chat completion; the provider's JSON, untouched."""
        return self.complete_with_headers(payload)[0]

    def complete_with_headers(self, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """One non-streamed chat completion: the provider's JSON, untouched, and its response headers."""
        body = dict(payload)
        model = body.pop("model")
        recorder = metrics.active()
        started = time.perf_counter()
        try:
            raw = self._sdk().chat.completions.with_raw_response.create(model=model, **_untransformed(body))
            result = provider_json(raw.http_response.content)
        except (openai.OpenAIError, BadGateway) as err:
            raise self._mapped(err, model) from None
        if recorder is not None:
            recorder.provider_call(model, "complete", time.perf_counter() - started)
            recorder.provider_usage(model, result.get("usage"))
        return result, dict(raw.http_response.headers)

    @contextlib.contextmanager
    def stream(self, payload: dict[str, Any]) -> Iterator[ProviderStream]:
        """A streamed completion: yields an iterator of the provider's events, with their exact bytes.

        Errors before the first byte raise here (as ApiError); errors while
        iterating are the caller's to report inside the stream.
        """
        body = dict(payload)
        body.pop("stream", None)
        model = body.pop("model")
        started = time.perf_counter()
        try:
            manager = self._sdk().chat.completions.with_streaming_response.create(
                model=model, stream=True, **_untransformed(body))
            response = manager.__enter__()
        except openai.OpenAIError as err:
            raise self._mapped(err, model) from None
        recorder = metrics.active()
        if recorder is not None:
            recorder.provider_call(model, "stream", time.perf_counter() - started)
        chunks = response.iter_bytes()
        completed = False

        def events() -> Iterator[SSEEvent]:
            nonlocal completed
            for event in iter_events(chunks):
                if event.data is not None and event.data.strip() == "[DONE]":
                    completed = True
                yield event

        try:
            yield ProviderStream(events(), dict(response.headers))
        finally:
            if completed:
                _read_rest(chunks)
            manager.__exit__(None, None, None)

    def close(self) -> None:
        """Close the pooled connections to the provider."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def summarize(self, instructions: str, text: str) -> str:
        """Ask the summary model to condense `text`; returns the summary text."""
        result = self.complete(
            {
                "model": self._settings.effective_summary_model,
                "messages": [
                    {"role": "system", "content": instructions},
                    {"role": "user", "content": text},
                ],
                "temperature": 0,
            }
        )
        try:
            content = result["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise BadGateway("The summary model returned no message.", code="upstream_error") from None
        if not isinstance(content, str) or not content.strip():
            raise BadGateway("The summary model returned an empty summary.", code="upstream_error")
        return content.strip()

    @staticmethod
    def _mapped(err: Exception, model: object) -> ApiError:
        if isinstance(err, ApiError):  # provider_json's: the answer came, but not as a JSON object
            mapped: ApiError = err
        else:
            mapped = map_provider_error(err)
            log.warning("model provider error: %s -> %s %s", type(err).__name__, mapped.status, mapped.code)
        record_provider_error(model, mapped.code)
        return mapped


def record_provider_error(model: object, code: str | None) -> None:
    """Count a failed provider call (before or during a stream) in the metrics, if they are on."""
    recorder = metrics.active()
    if recorder is not None:
        recorder.provider_error(model, code)
