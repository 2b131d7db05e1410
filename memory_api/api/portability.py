"""/v1/memory/export and /v1/memory/import: every memory of the caller as JSON Lines (or one JSON object),
and back."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from flask import current_app
from flask.views import MethodView

from ..errors import InvalidRequest
from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .parsing import (
    Blueprint,
    current_request,
    json_response,
    principal,
    request_body_bytes,
    request_body_file,
    services,
)
from .schemas.portability import ExportQuery, ImportQuery, ImportResult, MemoryExportSchema, MemoryImportRequest
from .spaces_access import owner_of

blp = Blueprint("memory_portability", __name__, url_prefix="/v1/memory",
                description="Export and import of the caller's memories (JSON Lines, or one JSON object).")
register_v1_hooks(blp)

JSONL_TYPES = ("application/x-ndjson", "application/jsonl")
JSON = "application/json"

EXPORT_DOC = {200: {
    "description": "JSON Lines (the default): a format line, then one memory per line (oldest first). With "
                   "`format=json`: one JSON object, the format line's fields and the memories in `data`.",
    "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                JSON: {"schema": MemoryExportSchema}}}}
IMPORT_BODY_DOC = {
    "required": True,
    "description": "An export: JSON Lines (the format line, then memories), or one JSON object (an export with "
                   "`format=json`, or only its `data`), up to MEMORY_API_MAX_JSON_IMPORT_BYTES.",
    "content": {"application/x-ndjson": {"schema": {"type": "string"}}, JSON: {"schema": MemoryImportRequest}},
}


@blp.route("/export", parameters=[USER_HEADER_PARAM])
class MemoryExport(MethodView):
    @blp.doc(operationId="exportMemories", summary="Export every memory (JSON Lines, or one JSON object)",
             responses=EXPORT_DOC)
    @blp.arguments(ExportQuery(), location="query", as_kwargs=True)
    @documents_errors(blp, 403, 404)
    def get(self, export_format, space=None):
        """Streams every memory of the caller, with history, as JSON Lines, or with `format=json` as one JSON
        object; with `space`, every memory of that shared space (its admins only)."""
        owner, portability = owner_of(space, "admin"), services().portability
        if export_format == "json":
            pieces, mimetype, filename = portability.export_json(owner), JSON, "memories.json"
        else:
            pieces, mimetype, filename = portability.export_lines(owner), "application/x-ndjson", "memories.jsonl"
        return current_app.response_class((piece.encode() for piece in pieces), mimetype=mimetype,
                                          headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@blp.route("/import", parameters=[USER_HEADER_PARAM])
class MemoryImport(MethodView):
    body_types = (*JSONL_TYPES, JSON)  # check_body_media_type accepts these
    max_body_setting = "max_import_bytes"  # MEMORY_API_MAX_IMPORT_BYTES, not MEMORY_API_MAX_BODY_BYTES
    # An import as one JSON object is parsed whole, unlike JSON Lines: a bound of its own.
    max_body_setting_by_type: ClassVar[dict[str, str]] = {JSON: "max_json_import_bytes"}

    @blp.doc(operationId="importMemories", summary="Import an export", requestBody=IMPORT_BODY_DOC)
    @blp.arguments(ImportQuery(), location="query", as_kwargs=True)
    @blp.response(200, ImportResult)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, on_conflict, space=None):
        """Idempotent by id: ids that exist are skipped or overwritten (`on_conflict`). Every memory is
        checked first; a bad one is a 400 naming it (`line 3`, or `data[2]` in a JSON object), and nothing
        is written."""
        owner, portability = owner_of(space, "admin"), services().portability
        who = {"actor": principal().key_id, "author": principal().user_id}
        if current_request().mimetype == JSON:
            result = portability.import_document(owner, _json_document(), on_conflict=on_conflict, **who)
        else:
            result = portability.import_file(owner, request_body_file(), on_conflict=on_conflict, **who)
        return json_response(result)


def _json_document() -> Any:
    """The request body as one JSON value (read whole, within MEMORY_API_MAX_JSON_IMPORT_BYTES)."""
    try:
        return json.loads(request_body_bytes(current_request()))
    except RecursionError:
        raise InvalidRequest("The JSON body is nested too deeply.", code="invalid_json") from None
    except ValueError:  # UnicodeDecodeError is a ValueError
        raise InvalidRequest("The request body is not one JSON value (JSON Lines go as application/x-ndjson).",
                             code="invalid_json") from None
