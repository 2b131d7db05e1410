"""The upstream model provider, reached with the official `openai` SDK.

Any OpenAI-compatible server works (OpenAI, vLLM, Ollama...). Provider errors
become our envelope: its 429 stays 429 (with its Retry-After), its other 4xx
become 400 with its message (its 401/403 are our credentials' fault: 502),
5xx and connection failures 502, timeouts 504.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any, Iterator

import openai

from .. import metrics
from ..config import Settings
from ..errors import ApiError, BadGateway, GatewayTimeout, InvalidRequest, RateLimited, ServiceUnavailable
from .sse_events import SSEEvent, iter_events

log = logging.getLogger(__name__)


def _provider_message(err: openai.APIStatusError) -> tuple[str, str | None]:
    body = err.body if isinstance(err.body, dict) else {}
    message = body.get("message") if isinstance(body.get("message"), str) else None
    return (message or err.message or "The model provider refused the request."), body.get("param")


def map_provider_error(err: Exception) -> ApiError:
    """Our error for an exception raised by the openai SDK."""
    if isinstance(err, openai.APITimeoutError):
        return GatewayTimeout("The model provider did not answer in time.")
    if isinstance(err, openai.APIConnectionError):
        return BadGateway("Could not reach the model provider.", code="upstream_unreachable")
    if isinstance(err, openai.APIStatusError):
        message, param = _provider_message(err)
        status = err.status_code
        if status == 429:
            retry_after = err.response.headers.get("retry-after")
            return RateLimited(
                f"The model provider is rate limiting: {message}",
                code="upstream_rate_limited",
                headers={"Retry-After": retry_after} if retry_after else None,
            )
        if status in (401, 403):
            return BadGateway(
                "The model provider rejected this service's credentials (check OPENAI_API_KEY).",
                code="upstream_auth_failed",
            )
        if 400 <= status < 500:
            return InvalidRequest(message, param=param if isinstance(param, str) else None, code="upstream_rejected")
        return BadGateway(f"The model provider failed ({status}): {message}", code="upstream_error")
    if isinstance(err, openai.OpenAIError):  # e.g. an error event inside a stream
        return BadGateway(f"The model provider failed: {err}", code="upstream_error")
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
    except Exception:  # noqa: BLE001 - the answer is complete; a broken connection is just not reused
        pass


def _untransformed(body: dict[str, Any]) -> dict[str, Any]:
    """The SDK's arguments for a request body that it should send as it is.

    The messages travel in `extra_body`, which the SDK merges into the JSON unchanged, rather than as
    `messages`, which it walks message by message to transform its typed dicts: about a millisecond
    per call with memories injected, for a body we pass on as the client sent it anyway.
    """
    return {"messages": [], "extra_body": body}


class Upstream:
    """Chat completions against the configured provider."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: openai.OpenAI | None = None

    @property
    def configured(self) -> bool:
        return bool(self._settings.openai_api_key or self._settings.openai_base_url)

    def ensure_configured(self) -> None:
        """Raise the 503 that names the setting to set, if no provider is configured."""
        if not self.configured:
            raise ServiceUnavailable(
                "No model provider is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a "
                "provider other than OpenAI).",
                code="provider_not_configured",
            )

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
        body = dict(payload)
        model = body.pop("model")
        recorder = metrics.active()
        started = time.perf_counter()
        try:
            raw = self._sdk().chat.completions.with_raw_response.create(model=model, **_untransformed(body))
            result = json.loads(raw.http_response.content)
        except (openai.OpenAIError, json.JSONDecodeError) as err:
            raise self._mapped(err, model) from None
        if recorder is not None:
            recorder.provider_call(model, "complete", time.perf_counter() - started)
            if isinstance(result, dict):
                recorder.provider_usage(model, result.get("usage"))
        return result

    @contextlib.contextmanager
    def stream(self, payload: dict[str, Any]) -> Iterator[Iterator[SSEEvent]]:
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
            yield events()
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
        if isinstance(err, json.JSONDecodeError):
            mapped: ApiError = BadGateway("The model provider answered with invalid JSON.", code="upstream_error")
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
