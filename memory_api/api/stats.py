"""/v1/memory/tags and /v1/memory/stats: what the caller's memories add up to."""

from __future__ import annotations

from flask.views import MethodView

from .docs import USER_HEADER_PARAM, documents_errors
from .hooks import register_v1_hooks
from .parsing import Blueprint, json_response, services
from .schemas.common import SpaceQuery
from .schemas.tools import MemoryStats, TagList
from .spaces_access import owner_of

blp = Blueprint("memory_stats", __name__, url_prefix="/v1/memory",
                description="Tags and statistics of the caller's memories.")
register_v1_hooks(blp)


@blp.route("/tags", parameters=[USER_HEADER_PARAM])
class MemoryTags(MethodView):
    @blp.doc(operationId="listMemoryTags", summary="List tags")
    @blp.response(200, TagList)
    @blp.arguments(SpaceQuery(), location="query", as_kwargs=True)
    @documents_errors(blp, 404)
    def get(self, space=None):
        """Every tag of the caller's memories (or a space's), with how many memories carry it, most used first."""
        return json_response({"object": "list", "data": services().stats.tags(owner_of(space)),
                              "has_more": False})


@blp.route("/stats", parameters=[USER_HEADER_PARAM])
class MemoryStatsView(MethodView):
    @blp.doc(operationId="getMemoryStats", summary="Memory statistics")
    @blp.response(200, MemoryStats)
    @blp.arguments(SpaceQuery(), location="query", as_kwargs=True)
    @documents_errors(blp, 404)
    def get(self, space=None):
        """How many memories, words and tokens the caller (or a space) has stored, tags, scopes, oldest and
        newest."""
        return json_response(services().stats.stats(owner_of(space)))
