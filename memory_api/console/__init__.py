"""The web console at GET /console: one server-rendered page and plain ES modules (no build step, no CDN).

The page calls the public /v1 API from the browser with the key a person signs in with, kept in the
tab's sessionStorage and sent only as the bearer token: the console has no API of its own and no
session, so it can do nothing that key cannot. `MEMORY_API_CONSOLE=false` leaves it out (404).
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template, request

from ..services.spaces import MAX_NAME_CHARS

PREFIX = "/console"

# Everything the page loads is ours: no inline script or style, no plugins, no <base> rewriting, and no
# framing (clickjacking). form-action 'none': every form is handled by the page's script, so if that script
# ever failed to load, the sign-in form cannot fall back to submitting the key in a URL. Trusted Types
# with no policy make any HTML sink (innerHTML and the like) throw in browsers that enforce them, so
# memory content can only ever reach the page as text.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
))

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Cross-Origin-Opener-Policy": "same-origin",
}

blp = Blueprint("console", __name__, url_prefix=PREFIX, template_folder="templates",
                static_folder="static", static_url_path="/static")


@blp.get("")
def console_page():
    """The console's one page; the limits it shows (caps, content length) come from the server's Settings."""
    return render_template("console/index.html", settings=current_app.config["MEMORY_API_SETTINGS"],
                           space_name_chars=MAX_NAME_CHARS)


def is_console_path(path: str) -> bool:
    """Whether a request path is the console's (its page, its files, or a missing page under it)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def add_security_headers(response):
    """Every response under /console (the page, its files, and its 404s) carries the same policy."""
    if is_console_path(request.path):
        response.headers.update(SECURITY_HEADERS)
    return response


def init_console(app: Flask) -> None:
    """Serve the console and give its responses the security headers (create_app, unless turned off)."""
    app.register_blueprint(blp)
    app.after_request(add_security_headers)
