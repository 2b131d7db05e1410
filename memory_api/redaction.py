"""Secrets masked out of text that leaves the service: a provider's error messages, as relayed and logged.

A provider that refuses a key may quote it ("Incorrect API key provided: sk-proj-..."). The key it
quotes is this server's provider key, and relaying the message verbatim would hand it to any user
whose request failed. So every provider message is masked before it becomes one of our errors: the
exact secrets the request carried, then anything shaped like a key (the prefixes of the common
providers, Bearer tokens, long hex and base64 strings). A masked word in an error message costs
little; a key in one is a leak.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[redacted]"
# Shorter known values are not masked as they are: "x" is not a secret, and masking it would mangle the text.
MIN_KNOWN_SECRET = 8

_KEY_SHAPES = re.compile(
    "|".join((
        r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}",  # an Authorization header's value
        # OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-), Stripe (sk_live_, rk_live_), Groq (gsk_),
        # Hugging Face (hf_), GitHub (ghp_, gho_, ghs_, ghu_, ghr_, github_pat_), Slack (xox?-)
        r"\b(?:sk|rk|gsk|hf|gh[opsur]|github_pat|xox[abprs])[-_][A-Za-z0-9_-]{16,}",
        r"\bAIza[A-Za-z0-9_-]{30,}",  # Google
        r"\bAKIA[A-Z0-9]{16}\b",  # AWS access key id
        r"\b[A-Fa-f0-9]{32,}\b",  # hex keys (and tokens of that shape)
        # base64 and url-safe base64 of 40 characters or more, with a letter and a digit (not a long word)
        r"(?<![A-Za-z0-9+/_-])(?=[A-Za-z0-9+/_-]*[0-9])(?=[A-Za-z0-9+/_-]*[A-Za-z])[A-Za-z0-9+/_-]{40,}={0,2}",
    ))
)


def mask_secrets(text: str, known: Iterable[str | None] = ()) -> str:
    """`text` with the `known` secrets, and anything shaped like an API key or token, replaced by MASK."""
    for secret in sorted({s for s in known if s and len(s) >= MIN_KNOWN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _KEY_SHAPES.sub(lambda m: "Bearer " + MASK if m.group().startswith("Bearer") else MASK, text)
