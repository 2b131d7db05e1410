"""marshmallow schema of GET /v1/me (see common.py)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from ...services.auth import USER_ID_PATTERN
from .common import constant


class Me(ma.Schema):
    object = constant("user")
    id = fields.String(required=True, metadata={"pattern": USER_ID_PATTERN, "description": (
        "The user the request acts for: a user key's own, or the one a service key names in X-Memory-User.")})
    key_id = fields.String(required=True, metadata={"description": "The id of the API key used (not its secret)."})
    kind = fields.String(required=True, metadata={"enum": ["user", "service"], "description": "The key's kind."})
    service = fields.String(required=True, allow_none=True, metadata={
        "description": "A service key's name; null for a user key."})
