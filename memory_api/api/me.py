"""/v1/me: who a request acts for (the key's user, or the user a service key names), and with which key."""

from __future__ import annotations

from flask.views import MethodView

from .docs import USER_HEADER_PARAM, documents_errors
from .hooks import register_v1_hooks
from .parsing import Blueprint, json_response, principal
from .schemas.me import Me

blp = Blueprint("me", __name__, url_prefix="/v1", description="The caller: who the key acts for.")
register_v1_hooks(blp)


@blp.route("/me", parameters=[USER_HEADER_PARAM])
class MeView(MethodView):
    @blp.doc(operationId="getMe", summary="Who you are")
    @blp.response(200, Me)
    @documents_errors(blp)
    def get(self):
        """The user this request acts for (a user key's own user, or the one a service key names in
        X-Memory-User), the key's id and its kind: what a client shows as "signed in as"."""
        caller = principal()
        return json_response({"object": "user", "id": caller.user_id, "key_id": caller.key_id,
                              "kind": caller.kind, "service": caller.service})
