"""/healthz: is the service up and its Redis reachable? No authentication."""

from __future__ import annotations

from flask.views import MethodView

from .parsing import Blueprint, json_response, services
from .schemas.common import Health

blp = Blueprint("health", __name__, description="Liveness and Redis reachability.")


@blp.route("/healthz")
class HealthCheck(MethodView):
    @blp.doc(operationId="getHealth", summary="Health check", security=[])
    @blp.response(200, Health)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self):
        """200 when Redis answers a PING, with what this deployment can do (semantic recall needs
        Redis >= 8 and an embedding model); else 503 with the error envelope."""
        svc = services()
        svc.check_health()  # StoreUnavailable: 503 with the envelope
        return json_response({"status": "ok", "redis": "ok", "capabilities": svc.capabilities()})
