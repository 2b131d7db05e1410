"""`client.memory` methods for stats, tags and capture (extract, suggestions, preferences, jobs), sync and
async: mixins that memory.py's and async_memory.py's resources take on (the SDK's own `_get`/`_post`)."""

from __future__ import annotations

from typing import Any, Dict, List, Union
from urllib.parse import quote

from openai import NOT_GIVEN, NotGiven
from typing_extensions import Unpack

from . import _requests as r
from .types import CaptureJob, Extraction, Memory, MemoryStats, Preferences, SuggestionList, TagList


def _extract_body(messages, apply, scope, model) -> Dict[str, Any]:
    return r.given(messages=list(messages), apply=apply, scope=scope, model=model)


def _path(prefix: str, value: str, suffix: str = "") -> str:
    if not value:
        raise ValueError(f"Expected a non-empty id but received {value!r}")
    return f"{prefix}{quote(value, safe='')}{suffix}"


class CaptureMethods:
    """Synchronous: stats, tags, extract, suggestions, preferences and capture jobs."""

    def stats(self, **extras: Unpack[r.RequestExtras]) -> MemoryStats:
        return self._get("/memory/stats", cast_to=MemoryStats, options=r.options(extras))

    def tags(self, **extras: Unpack[r.RequestExtras]) -> TagList:
        return self._get("/memory/tags", cast_to=TagList, options=r.options(extras))

    def extract(self, *, messages: List[Dict[str, Any]], apply: Union[bool, NotGiven] = NOT_GIVEN,
                scope: Union[str, None, NotGiven] = NOT_GIVEN, model: Union[str, NotGiven] = NOT_GIVEN,
                idempotency_key: Union[str, NotGiven] = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> Extraction:
        """What the capture model proposes to remember from a conversation; `apply=True` carries it out."""
        return self._post("/memory/extract", body=_extract_body(messages, apply, scope, model), cast_to=Extraction,
                          options=r.options(extras, headers=r.write_headers(idempotency_key=idempotency_key)))

    def suggestions(self, **extras: Unpack[r.RequestExtras]) -> SuggestionList:
        """Changes capture proposed to memories the user wrote."""
        return self._get("/memory/suggestions", cast_to=SuggestionList, options=r.options(extras))

    def accept_suggestion(self, suggestion_id: str, **extras: Unpack[r.RequestExtras]) -> Memory:
        return self._post(_path("/memory/suggestions/", suggestion_id, "/accept"), cast_to=Memory,
                          options=r.options(extras))

    def dismiss_suggestion(self, suggestion_id: str, **extras: Unpack[r.RequestExtras]) -> Dict[str, Any]:
        return self._post(_path("/memory/suggestions/", suggestion_id, "/dismiss"), cast_to=object,
                          options=r.options(extras))

    def preferences(self, **extras: Unpack[r.RequestExtras]) -> Preferences:
        return self._get("/memory/preferences", cast_to=Preferences, options=r.options(extras))

    def set_preferences(self, *, capture: Union[bool, None], **extras: Unpack[r.RequestExtras]) -> Preferences:
        """capture=False: never capture this user's turns; True: capture unless a request says not; None:
        the server's default."""
        return self._patch("/memory/preferences", body={"capture": capture}, cast_to=Preferences,
                           options=r.options(extras))

    def capture_job(self, job_id: str, **extras: Unpack[r.RequestExtras]) -> CaptureJob:
        """A chat turn's capture job (its id: `memory_report(completion).capture_job`)."""
        return self._get(_path("/memory/capture/jobs/", job_id), cast_to=CaptureJob, options=r.options(extras))


class AsyncCaptureMethods:
    """The same for AsyncMemoryAPI."""

    async def stats(self, **extras: Unpack[r.RequestExtras]) -> MemoryStats:
        return await self._get("/memory/stats", cast_to=MemoryStats, options=r.options(extras))

    async def tags(self, **extras: Unpack[r.RequestExtras]) -> TagList:
        return await self._get("/memory/tags", cast_to=TagList, options=r.options(extras))

    async def extract(self, *, messages: List[Dict[str, Any]], apply: Union[bool, NotGiven] = NOT_GIVEN,
                      scope: Union[str, None, NotGiven] = NOT_GIVEN, model: Union[str, NotGiven] = NOT_GIVEN,
                      idempotency_key: Union[str, NotGiven] = NOT_GIVEN,
                      **extras: Unpack[r.RequestExtras]) -> Extraction:
        return await self._post("/memory/extract", body=_extract_body(messages, apply, scope, model),
                                cast_to=Extraction,
                                options=r.options(extras, headers=r.write_headers(idempotency_key=idempotency_key)))

    async def suggestions(self, **extras: Unpack[r.RequestExtras]) -> SuggestionList:
        return await self._get("/memory/suggestions", cast_to=SuggestionList, options=r.options(extras))

    async def accept_suggestion(self, suggestion_id: str, **extras: Unpack[r.RequestExtras]) -> Memory:
        return await self._post(_path("/memory/suggestions/", suggestion_id, "/accept"), cast_to=Memory,
                                options=r.options(extras))

    async def dismiss_suggestion(self, suggestion_id: str, **extras: Unpack[r.RequestExtras]) -> Dict[str, Any]:
        return await self._post(_path("/memory/suggestions/", suggestion_id, "/dismiss"), cast_to=object,
                                options=r.options(extras))

    async def preferences(self, **extras: Unpack[r.RequestExtras]) -> Preferences:
        return await self._get("/memory/preferences", cast_to=Preferences, options=r.options(extras))

    async def set_preferences(self, *, capture: Union[bool, None],
                              **extras: Unpack[r.RequestExtras]) -> Preferences:
        return await self._patch("/memory/preferences", body={"capture": capture}, cast_to=Preferences,
                                 options=r.options(extras))

    async def capture_job(self, job_id: str, **extras: Unpack[r.RequestExtras]) -> CaptureJob:
        return await self._get(_path("/memory/capture/jobs/", job_id), cast_to=CaptureJob,
                               options=r.options(extras))
