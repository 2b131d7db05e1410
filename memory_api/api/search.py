"""/v1/memory/search: the caller's memories ranked by relevance to a query (GET, or POST with a JSON body)."""

from __future__ import annotations

from flask.views import MethodView

from .docs import USER_HEADER_PARAM, documents_errors
from .hooks import register_v1_hooks
from .memory import filters_of
from .parsing import Blueprint, json_response, services
from .schemas.tools import SearchList, SearchQuery, SearchRequest
from .spaces_access import owner_of

blp = Blueprint("memory_search", __name__, url_prefix="/v1/memory", description="Search the caller's memories.")
register_v1_hooks(blp)


@blp.route("/search", parameters=[USER_HEADER_PARAM])
class MemorySearch(MethodView):
    @blp.doc(operationId="searchMemories", summary="Search memories")
    @blp.arguments(SearchQuery(), location="query", as_kwargs=True)
    @blp.response(200, SearchList)
    @documents_errors(blp)
    def get(self, query, limit=None, mode=None, min_score=None, **filters):
        """The caller's memories ranked by relevance to `query`, best first, each with its `score`: by
        keyword and meaning together (hybrid, the default), by meaning alone, or by keyword (BM25)."""
        results = services().search.search(owner_of(filters.get("space")), query, limit=limit, mode=mode,
                                           filters=filters_of(filters), min_score=min_score)
        return json_response(results.to_api())

    @blp.doc(operationId="searchMemoriesPost", summary="Search memories (JSON body)")
    @blp.arguments(SearchRequest())
    @blp.response(200, SearchList)
    @documents_errors(blp, 413, 415)
    def post(self, body):
        """The same search with a JSON body, for long queries (as OpenAI's vector-store search)."""
        filters = {**body, "tag": body.get("tags")}
        results = services().search.search(owner_of(body.get("space")), body["query"], limit=body.get("limit"),
                                           mode=body.get("mode"), filters=filters_of(filters),
                                           min_score=body.get("min_score"))
        return json_response(results.to_api())
