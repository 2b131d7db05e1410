"""The HTTP layer: flask-smorest Api, its blueprints, request hooks and error handlers."""

from __future__ import annotations

import copy

from flask import Flask
from flask_smorest import Api

from ..config import Settings
from . import (
    batches,
    capture,
    chat,
    context,
    conversations,
    health,
    me,
    memory,
    memory_events,
    portability,
    provider_models,
    responses,
    search,
    spaces,
    stats,
)
from .cors import init_cors
from .errors import register_error_handlers
from .hooks import register_request_hooks
from .metrics import init_metrics
from .parsing import Blueprint
from .ratelimit import init_rate_limits
from .schemas.common import ErrorEnvelope, SchemaExtrasPlugin, property_names_attribute, settings_attribute

API_VERSION = "1.0.0"

SPEC_OPTIONS = {
    "info": {
        "description": (
            "Persistent, user-scoped memory for chat applications, with an OpenAI-style API: "
            "the same list objects, cursor pagination, ids and error envelope. "
            "Authenticate with `Authorization: Bearer <key>`; a service key names the end "
            "user in `X-Memory-User`."
        ),
        "license": {"name": "MIT", "identifier": "MIT"},  # pyproject.toml's
    },
    # Where `memory-api serve` listens by default (the class attributes are the settings' defaults).
    "servers": [{"url": f"http://{Settings.host}:{Settings.port}",
                 "description": "memory-api serve on this machine (MEMORY_API_HOST, MEMORY_API_PORT)"}],
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "security": [{"bearerAuth": []}],
}


# The blueprints of openapi.yaml's `memory_tools` tag: what /v1/memory serves besides the memories one
# by one. Generated clients name a module after each tag (memory_api_client.api.memory_tools), so these
# keep the tag they had when they shared one blueprint.
MEMORY_TOOLS_BLUEPRINTS = (search.blp, stats.blp, batches.blp, portability.blp, capture.blp, context.blp,
                           memory_events.blp)


def memory_tools_tag() -> Blueprint:
    """openapi.yaml's `memory_tools` tag, the way flask-smorest files several blueprints under one tag:
    nested in a blueprint of that name, which adds no URL prefix, hook or route of its own."""
    tag = Blueprint("memory_tools", __name__,
                    description="Search, tags, stats, batches, export and import of the caller's memories.")
    for blp in MEMORY_TOOLS_BLUEPRINTS:
        tag.register_blueprint(blp)
    return tag


class MemoryApi(Api):
    """flask-smorest's Api with our error envelope documented for every error response.

    Error handlers are ours (api/errors.py), so flask-smorest's are not registered.
    """

    ERROR_SCHEMA = ErrorEnvelope

    def _register_error_handlers(self):
        register_error_handlers(self._app)

    def _register_pagination_header(self):
        """Nothing: lists page by cursor in the body (OpenAI's list object), not with flask-smorest's
        page-number header, whose PaginationMetadata schema would sit unused in openapi.yaml."""


def init_api(app: Flask) -> MemoryApi:
    app.config.update(
        API_TITLE="memory-api",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        # A copy: apispec updates its options in place, which would carry one app's spec into the next.
        API_SPEC_OPTIONS=copy.deepcopy(SPEC_OPTIONS),
    )
    api = MemoryApi(app, spec_kwargs={"extra_plugins": [SchemaExtrasPlugin()]})
    api.ma_plugin.converter.add_attribute_function(property_names_attribute)
    api.ma_plugin.converter.add_attribute_function(settings_attribute(app.config["MEMORY_API_SETTINGS"]))
    api.register_blueprint(memory.blp)
    api.register_blueprint(memory_tools_tag())
    api.register_blueprint(chat.blp)
    api.register_blueprint(responses.blp)
    api.register_blueprint(provider_models.blp)
    api.register_blueprint(conversations.blp)
    api.register_blueprint(spaces.blp)
    api.register_blueprint(me.blp)
    api.register_blueprint(health.blp)
    register_request_hooks(app)
    init_cors(app, app.config["MEMORY_API_SETTINGS"].cors_origins)
    init_rate_limits(app, app.extensions["memory_api"])
    init_metrics(app)
    return api
