"""/v1/memory/events: the activity feed of the caller's memories."""

from __future__ import annotations

from flask.views import MethodView

from .docs import USER_HEADER_PARAM, documents_errors
from .hooks import register_v1_hooks
from .memory import page_args
from .parsing import Blueprint, json_response, services
from .schemas.tools import EventList, EventListQuery
from .spaces_access import owner_of

blp = Blueprint("memory_events", __name__, url_prefix="/v1/memory",
                description="The activity feed of the caller's memories.")
register_v1_hooks(blp)


@blp.route("/events", parameters=[USER_HEADER_PARAM])
class MemoryEvents(MethodView):
    @blp.doc(operationId="listMemoryEvents", summary="The activity feed")
    @blp.arguments(EventListQuery(), location="query", as_kwargs=True)
    @blp.response(200, EventList)
    @documents_errors(blp)
    def get(self, **query):
        """Every create, update and delete of the caller's memories, newest first by default, with
        OpenAI-style cursors: the type, the memory and its revision, the `source` (api, mcp, import, auto, expiry),
        the `actor` (the API key's id) and, for changes the service made on its own or reverts, the
        `reason`. The feed keeps about MEMORY_API_EVENTS_KEPT entries per user."""
        page = services().events.list(owner_of(query.get("space")), **page_args(query))
        return json_response(page.to_api())
