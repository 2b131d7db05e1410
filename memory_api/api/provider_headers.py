"""Which of the model provider's response headers a proxied answer carries to the client.

Clients read the provider's rate-limit state and processing time from these
(the `openai` SDK's `_request_id` reads `x-request-id`). Our own `x-request-id`
stays ours, since it is what our logs know the request by; the provider's
request id travels as `x-upstream-request-id`.
"""

from __future__ import annotations

from collections.abc import Mapping

RELAYED_PREFIXES = ("x-ratelimit-",)
RELAYED_NAMES = frozenset(("openai-processing-ms",))
UPSTREAM_REQUEST_ID = "x-upstream-request-id"


def relayed_provider_headers(provider_headers: Mapping[str, str]) -> dict[str, str]:
    """The headers to pass on from a provider response (its names, lower-cased)."""
    relayed: dict[str, str] = {}
    for name, value in provider_headers.items():
        lowered = name.lower()
        if lowered.startswith(RELAYED_PREFIXES) or lowered in RELAYED_NAMES:
            relayed[lowered] = value
        elif lowered == "x-request-id":
            relayed[UPSTREAM_REQUEST_ID] = value
    return relayed
