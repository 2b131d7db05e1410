"""/v1/models: the provider's model list, passed through (clients list models before choosing one)."""

from __future__ import annotations

from flask.views import MethodView

from .docs import USER_HEADER_PARAM, documents_errors
from .hooks import register_v1_hooks
from .parsing import Blueprint, json_response, services
from .provider_headers import relayed_provider_headers
from .schemas.responses import Model, ModelList

blp = Blueprint("models", __name__, url_prefix="/v1", description="The model provider's models.")
register_v1_hooks(blp)


@blp.route("/models", parameters=[USER_HEADER_PARAM])
class Models(MethodView):
    @blp.doc(operationId="listModels", summary="List the provider's models")
    @blp.response(200, ModelList, description="The provider's answer, untouched.")
    @documents_errors(blp, 424, 502, 504)
    def get(self):
        """The provider's GET /v1/models, untouched."""
        payload, provider_headers = services().provider.list_models()
        return json_response(payload, headers=relayed_provider_headers(provider_headers))


@blp.route("/models/<path:model>", parameters=[USER_HEADER_PARAM])
class ModelById(MethodView):
    @blp.doc(operationId="retrieveModel", summary="Retrieve one of the provider's models")
    @blp.response(200, Model, description="The provider's answer, untouched.")
    @documents_errors(blp, 404, 424, 502, 504)
    def get(self, model):
        """The provider's GET /v1/models/{model}, untouched (a model id may contain '/', as on vLLM)."""
        payload, provider_headers = services().provider.retrieve_model(model)
        return json_response(payload, headers=relayed_provider_headers(provider_headers))
