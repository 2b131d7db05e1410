"""/v1/memory/export and /v1/memory/import: every memory of the caller as JSON Lines, and back."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .parsing import Blueprint, json_response, principal, request_body_file, services
from .schemas.common import SpaceQuery
from .schemas.tools import ImportQuery, ImportResult
from .spaces_access import owner_of

blp = Blueprint("memory_portability", __name__, url_prefix="/v1/memory",
                description="Export and import of the caller's memories (JSON Lines).")
register_v1_hooks(blp)

JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json")

EXPORT_DOC = {200: {"description": "JSON Lines: a format line, then one memory per line (oldest first).",
                    "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}}
IMPORT_BODY_DOC = {
    "required": True,
    "description": "An export (JSON Lines): the format line, then memories.",
    "content": {media: {"schema": {"type": "string"}} for media in ("application/x-ndjson",)},
}


@blp.route("/export", parameters=[USER_HEADER_PARAM])
class MemoryExport(MethodView):
    @blp.doc(operationId="exportMemories", summary="Export every memory (JSON Lines)", responses=EXPORT_DOC)
    @blp.arguments(SpaceQuery(), location="query", as_kwargs=True)
    @documents_errors(blp, 403, 404)
    def get(self, space=None):
        """Streams every memory of the caller, with history, as JSON Lines; with `space`, every memory of
        that shared space (its admins only)."""
        lines = services().portability.export_lines(owner_of(space, "admin"))
        return current_app.response_class((line.encode() for line in lines), mimetype="application/x-ndjson",
                                          headers={"Content-Disposition": 'attachment; filename="memories.jsonl"'})


@blp.route("/import", parameters=[USER_HEADER_PARAM])
class MemoryImport(MethodView):
    body_types = JSONL_TYPES  # the export's own format (check_body_media_type accepts these)
    max_body_setting = "max_import_bytes"  # MEMORY_API_MAX_IMPORT_BYTES, not MEMORY_API_MAX_BODY_BYTES

    @blp.doc(operationId="importMemories", summary="Import an export", requestBody=IMPORT_BODY_DOC)
    @blp.arguments(ImportQuery(), location="query", as_kwargs=True)
    @blp.response(200, ImportResult)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, on_conflict, space=None):
        """Idempotent by id: ids that exist are skipped or overwritten (`on_conflict`). Every line is
        checked first; a bad one is a 400 naming it, and nothing is written."""
        result = services().portability.import_file(owner_of(space, "admin"), request_body_file(),
                                                    on_conflict=on_conflict, actor=principal().key_id,
                                                    author=principal().user_id)
        return json_response(result)
