"""/v1/memory/tags and /v1/memory/stats: what the caller's memories add up to."""

from __future__ import annotations

from flask.views import MethodView

from .docs import USER_HEADER_PARAM, documents_errors
from .hooks import register_v1_hooks
from .parsing import Blueprint, json_response, principal, services
from .schemas.tools import MemoryStats, TagList

blp = Blueprint("memory_stats", __name__, url_prefix="/v1/memory",
                description="Tags and statistics of the caller's memories.")
register_v1_hooks(blp)


@blp.route("/tags", parameters=[USER_HEADER_PARAM])
class MemoryTags(MethodView):
    @blp.doc(operationId="listMemoryTags", summary="List tags")
    @blp.response(200, TagList)
    @documents_errors(blp)
    def get(self):
        """Every tag of the caller's memories, with how many memories carry it, most used first."""
        return json_response({"object": "list", "data": services().stats.tags(principal().user_id),
                              "has_more": False})


@blp.route("/stats", parameters=[USER_HEADER_PARAM])
class MemoryStatsView(MethodView):
    @blp.doc(operationId="getMemoryStats", summary="Memory statistics")
    @blp.response(200, MemoryStats)
    @documents_errors(blp)
    def get(self):
        """How many memories, words and tokens the caller has stored, tags, scopes, oldest and newest."""
        return json_response(services().stats.stats(principal().user_id))
