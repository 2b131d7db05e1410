"""The provider's Responses API and model list, relayed: its JSON and event bytes untouched.

Chat completions live in upstream.py; these share its SDK client, its
timeouts, its error mapping and its metrics (a response's provider time, tokens
and errors are counted per model as a chat completion's are).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .. import metrics
from ..errors import ApiError, NotFound, NotImplementedByProvider, ProviderError
from ..lazy_import import LazyModule
from .sse_events import iter_events
from .upstream import (
    ProviderFields,
    ProviderStream,
    Upstream,
    map_provider_error,
    provider_json,
    record_provider_error,
)

if TYPE_CHECKING:
    import openai
else:  # imported on first use (lazy_import.py)
    openai = LazyModule("openai")

log = logging.getLogger(__name__)

RESPONSES_SETTING = "MEMORY_API_UPSTREAM_RESPONSES"
# Model ids no URL can name: as a path segment they mean "this directory" and "its parent", so the SDK
# refuses to build the request (a ValueError) rather than ask the provider for another resource.
DOT_SEGMENTS = frozenset((".", ".."))


def _no_responses_api(detail: str) -> NotImplementedByProvider:
    return NotImplementedByProvider(
        f"The model provider has no Responses API ({detail}); use /v1/chat/completions, or point "
        f"OPENAI_BASE_URL at a provider that serves /v1/responses and set {RESPONSES_SETTING}=true.",
        param="model")


class ProviderApi:
    """The provider's /responses and /models, through the same configured SDK client as chat."""

    def __init__(self, upstream: Upstream, *, serves_responses: bool) -> None:
        self._upstream = upstream
        self._serves_responses = serves_responses

    def ensure_responses(self) -> None:
        """Raise the 501 naming the setting if the provider is known to have no Responses API."""
        self._upstream.ensure_configured()
        if not self._serves_responses:
            raise _no_responses_api(f"{RESPONSES_SETTING}=false")

    def create_response(self, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """One non-streamed response: the provider's JSON and its response headers."""
        self.ensure_responses()
        model = payload.get("model")
        started = time.perf_counter()
        try:
            response, headers = self._json(lambda sdk: sdk.responses.with_raw_response.create(extra_body=payload),
                                           responses=True)
        except ApiError as err:
            record_provider_error(model, err.code)
            raise
        recorder = metrics.active()
        if recorder is not None:
            recorder.provider_call(model, "complete", time.perf_counter() - started)
            recorder.provider_usage(model, response.get("usage"))
        return response, headers

    @contextlib.contextmanager
    def stream_response(self, payload: dict[str, Any]) -> Iterator[ProviderStream]:
        """A streamed response: the provider's events with their exact bytes. Errors before the first
        byte raise here; later ones are the caller's to report inside the stream."""
        self.ensure_responses()
        body = {k: v for k, v in payload.items() if k != "stream"}
        started = time.perf_counter()
        try:
            manager = self._upstream.sdk().responses.with_streaming_response.create(stream=True, extra_body=body)
            response = manager.__enter__()
        except openai.OpenAIError as err:
            mapped = self._mapped(err, responses=True)
            record_provider_error(payload.get("model"), mapped.code)
            raise mapped from None
        recorder = metrics.active()
        if recorder is not None:
            recorder.provider_call(payload.get("model"), "stream", time.perf_counter() - started)
        try:
            yield ProviderStream(iter_events(response.iter_bytes()), dict(response.headers))
        finally:
            manager.__exit__(None, None, None)

    def list_models(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The provider's GET /models, untouched."""
        self._upstream.ensure_configured()
        return self._json(lambda sdk: sdk.models.with_raw_response.list())

    def retrieve_model(self, model_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The provider's GET /models/{id}, untouched."""
        self._upstream.ensure_configured()
        if model_id in DOT_SEGMENTS:
            raise NotFound(f"The model {model_id!r} does not exist.", param="model", code="model_not_found")
        try:
            return self._json(lambda sdk: sdk.models.with_raw_response.retrieve(model_id))
        except ProviderError as err:
            if err.provider_status == 404:  # here a 404 means just what ours would: no such model
                err.status = 404
            raise

    def _json(self, call: Callable[[openai.OpenAI], Any], *, responses: bool = False
              ) -> tuple[dict[str, Any], dict[str, str]]:
        try:
            raw = call(self._upstream.sdk())
            return provider_json(raw.http_response.content), dict(raw.http_response.headers)
        except openai.OpenAIError as err:
            raise self._mapped(err, responses=responses) from None

    @staticmethod
    def _mapped(err: openai.OpenAIError, *, responses: bool = False) -> ApiError:
        # An unknown route answers 404 without OpenAI's error code (a missing model has one:
        # model_not_found): that is a provider without the Responses API (vLLM and Ollama before it).
        if responses and isinstance(err, openai.NotFoundError) and not ProviderFields.of(err).code:
            return _no_responses_api("its /responses answered 404")
        mapped = map_provider_error(err)
        log.warning("model provider error: %s -> %s %s", type(err).__name__, mapped.status, mapped.code)
        return mapped
