"""/v1/memory/extract, suggestions, capture jobs and preferences: memories proposed by a model from a
conversation (services/capture.py)."""

from __future__ import annotations

from flask.views import MethodView

from ..ids import CAPTURE_JOB_ID_PATTERN, SUGGESTION_ID_PATTERN
from .conditional import memory_response
from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .parsing import Blueprint, by_request, json_response, principal, services
from .schemas.capture import (
    CaptureJob,
    Extraction,
    ExtractRequest,
    Preferences,
    PreferencesUpdate,
    SuggestionDismissed,
    SuggestionList,
)
from .schemas.common import MemoryObject

blp = Blueprint("memory_capture", __name__, url_prefix="/v1/memory",
                description="Memories a model proposes from a conversation, and the user's say over them.")
register_v1_hooks(blp)

SUGGESTION_ID_PARAM = {"in": "path", "name": "suggestion_id", "required": True,
                       "schema": {"type": "string", "pattern": SUGGESTION_ID_PATTERN},
                       "description": "The suggestion's id."}


@blp.route("/extract", parameters=[USER_HEADER_PARAM])
class MemoryExtract(MethodView):
    @blp.doc(operationId="extractMemories", summary="Extract memories from a conversation")
    @blp.arguments(ExtractRequest())
    @blp.response(200, Extraction)
    @documents_errors(blp, 409, 413, 415, 502, 503, 504)
    @writes(blp)
    def post(self, body):
        """Asks the capture model which durable facts about the user the conversation reveals, compared
        with the user's most similar memories: add, update or delete operations, each with a reason.
        With `apply: true` they are carried out with source `auto`; an update or delete of a memory the
        user wrote becomes a pending suggestion instead (unless the server allows capture to edit them).
        The model is told the conversation's date (`occurred_at`, default now) and stores absolute dates;
        a fact that ends an automatic memory sets that one's `valid_until` (linked by `supersedes`)
        instead of deleting it, and one with a last day gets `expires_at`.
        A model answer that does not fit the schema changes nothing: 502 `invalid_extraction`."""
        extraction = services().capture.extract(principal().user_id, body["messages"], model=body.get("model"),
                                                scope=body.get("scope"), occurred_at=body.get("occurred_at"),
                                                apply=body["apply"], by=by_request())
        return json_response(extraction.to_api())


@blp.route("/suggestions", parameters=[USER_HEADER_PARAM])
class MemorySuggestions(MethodView):
    @blp.doc(operationId="listMemorySuggestions", summary="Pending suggestions")
    @blp.response(200, SuggestionList)
    @documents_errors(blp)
    def get(self):
        """Changes capture proposed to memories the user wrote, newest first: accept or dismiss each."""
        return json_response({"object": "list", "data": services().capture.suggestions.list(principal().user_id),
                              "has_more": False})


@blp.route("/suggestions/<string:suggestion_id>/accept", parameters=[SUGGESTION_ID_PARAM, USER_HEADER_PARAM])
class AcceptSuggestion(MethodView):
    @blp.doc(operationId="acceptMemorySuggestion", summary="Accept a suggestion")
    @blp.response(200, MemoryObject)
    @documents_errors(blp, 404, 409, 412)
    @writes(blp)
    def post(self, suggestion_id):
        """Applies the suggested update or delete as the caller's own change (its reason kept); 412 when the
        memory changed since the suggestion was made (the suggestion is then gone). Returns the memory as
        written (as it was, for a delete)."""
        memory = services().capture.suggestions.accept(principal().user_id, suggestion_id, by_request())
        return memory_response(memory)


@blp.route("/suggestions/<string:suggestion_id>/dismiss", parameters=[SUGGESTION_ID_PARAM, USER_HEADER_PARAM])
class DismissSuggestion(MethodView):
    @blp.doc(operationId="dismissMemorySuggestion", summary="Dismiss a suggestion")
    @blp.response(200, SuggestionDismissed)
    @documents_errors(blp, 404)
    @writes(blp)
    def post(self, suggestion_id):
        """Drops the suggestion; the memory stays as the user wrote it."""
        services().capture.suggestions.dismiss(principal().user_id, suggestion_id)
        return json_response({"id": suggestion_id, "object": "memory.suggestion.dismissed", "dismissed": True})


@blp.route("/capture/jobs/<string:job_id>", parameters=[
    {"in": "path", "name": "job_id", "required": True, "schema": {"type": "string", "pattern": CAPTURE_JOB_ID_PATTERN},
     "description": "The id a chat answer gave in `memory.capture_job` (or `x-memory-capture-job`)."},
    USER_HEADER_PARAM])
class CaptureJobView(MethodView):
    @blp.doc(operationId="getCaptureJob", summary="A capture job's state")
    @blp.response(200, CaptureJob)
    @documents_errors(blp, 404)
    def get(self, job_id):
        """Whether capture of a chat turn has finished: `queued`, `running`, `retrying` (the provider failed;
        another attempt follows), `done` (with what became of each operation) or `failed`."""
        return json_response(services().capture_jobs.status(principal().user_id, job_id))


@blp.route("/preferences", parameters=[USER_HEADER_PARAM])
class MemoryPreferences(MethodView):
    @blp.doc(operationId="getMemoryPreferences", summary="The user's memory preferences")
    @blp.response(200, Preferences)
    @documents_errors(blp)
    def get(self):
        """Whether the user has turned automatic capture on or off for their turns (null: the server's
        default)."""
        return json_response(services().capture_jobs.preferences(principal().user_id))

    @blp.doc(operationId="updateMemoryPreferences", summary="Turn automatic capture on or off")
    @blp.arguments(PreferencesUpdate())
    @blp.response(200, Preferences)
    @documents_errors(blp, 413, 415)
    @writes(blp)
    def patch(self, body):
        """`{"capture": false}`: none of the user's turns are captured, whatever a request or conversation
        asks (turns already queued are skipped); `true`: captured unless a request or conversation says
        not; `null`: the server's default."""
        return json_response(services().capture_jobs.set_preferences(principal().user_id, body["capture"]))
