"""GET /metrics: Prometheus' text format, for a service key only; present only with MEMORY_API_METRICS=true.

It is an operator's endpoint, not part of the API (so not in openapi.yaml): the
figures name routes, models and store operations, and their sum says how busy
the service is, so a user key gets 403 and no key 401, as on /v1. Prometheus
sends the key with `authorization: {credentials: sk-mem-...}` in its scrape config.
"""

from __future__ import annotations

from flask import Flask, current_app, request

from .. import metrics
from .parsing import services


def metrics_view():
    svc = services()
    svc.keys.authenticate_service(request.headers.get("Authorization"))
    recorder = metrics.active()
    if recorder is not None:
        recorder.capture_queue_depth.set(svc.capture_jobs.backlog())
    body, content_type = metrics.Metrics.render()
    return current_app.response_class(body, mimetype=None, content_type=content_type)


def init_metrics(app: Flask) -> None:
    """Start recording and serve /metrics, if the settings say so."""
    if not app.config["MEMORY_API_SETTINGS"].metrics:
        return
    metrics.enable()
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
