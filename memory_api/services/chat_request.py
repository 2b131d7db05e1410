"""A chat request as the service reads it, and the prompt rules: where memories and the summary go.

The request is OpenAI's chat-completions body plus two optional fields,
`memory` ({"inject", "max_words", "max_tokens", "scope"}) and `conversation_id`;
every other field goes to the provider untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidRequest
from ..validation import InputRules, check_scope
from .conversations import ThreadForPrompt, check_conversation_id, message_text
from .message_shape import check_message_fields

SYSTEM_ROLES = ("system", "developer")
MESSAGE_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
NEW_CONVERSATION = "new"


@dataclass
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    inject: bool
    memory_options: dict[str, Any]
    conversation_id: str | None
    passthrough: dict[str, Any] = field(default_factory=dict)


def parse_chat_request(body: dict[str, Any], *, default_model: str, max_messages: int) -> ChatRequest:
    """Check our fields and the messages' shape (services/message_shape.py); everything else is the
    provider's business.
    More than `max_messages` messages is a 400 here, before the provider is called (and paid)."""
    body = dict(body)
    messages = body.pop("messages", None)
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array of messages.", param="messages")
    if len(messages) > max_messages:
        raise InvalidRequest(f"'messages' has {len(messages)} messages; the maximum is {max_messages} "
                             "(MEMORY_API_MAX_CHAT_MESSAGES).", param="messages", code="too_many_messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"'messages[{i}]' must be an object.", param=f"messages[{i}]")
        if message.get("role") not in MESSAGE_ROLES:
            raise InvalidRequest(
                f"'messages[{i}].role' must be one of {', '.join(MESSAGE_ROLES)}.", param=f"messages[{i}].role"
            )
        check_message_fields(message, f"messages[{i}]")
    model = body.pop("model", None) or default_model
    if not isinstance(model, str):
        raise InvalidRequest("'model' must be a string.", param="model")
    stream = body.pop("stream", None)
    stream = False if stream is None else stream  # OpenAI reads "stream": null as absent
    if not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be a boolean.", param="stream")
    inject, memory = parse_memory_options(body.pop("memory", None))
    conversation_id = body.pop("conversation_id", None)
    if conversation_id is not None and conversation_id != NEW_CONVERSATION:
        check_conversation_id(conversation_id)
    return ChatRequest(model, messages, stream, inject, memory, conversation_id, body)


def parse_memory_options(memory: object) -> tuple[bool, dict[str, Any]]:
    """(inject?, the options) of a request's `memory` object (chat completions and responses)."""
    memory = memory or {}
    if not isinstance(memory, dict):
        raise InvalidRequest("'memory' must be an object.", param="memory")
    unknown = set(memory) - {"inject", "max_words", "max_tokens", "scope", "mode", "capture", "occurred_after",
                             "occurred_before", "as_of", "include_invalid", "spaces"}
    if unknown:
        raise InvalidRequest(f"Unrecognized field 'memory.{sorted(unknown)[0]}'.", param="memory",
                             code="unknown_parameter")
    inject = memory.get("inject", True)
    if not isinstance(inject, bool):
        raise InvalidRequest("'memory.inject' must be a boolean.", param="memory.inject")
    check_scope(memory.get("scope"), param="memory.scope")
    InputRules.time_filters(memory, prefix="memory.")
    if memory.get("capture") is not None and not isinstance(memory["capture"], bool):
        raise InvalidRequest("'memory.capture' must be a boolean.", param="memory.capture")
    return inject, memory


def latest_user_text(messages: list[dict[str, Any]]) -> str | None:
    """The text of the last user message: what relevance ranking matches memories against."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message) or None
    return None


def _append_to_system(message: dict[str, Any], addition: str) -> dict[str, Any]:
    message = dict(message)
    content = message.get("content")
    if isinstance(content, list):
        message["content"] = [*content, {"type": "text", "text": addition}]
    elif content:
        message["content"] = f"{content}\n\n{addition}"
    else:
        message["content"] = addition
    return message


def inject_into_messages(messages: list[dict[str, Any]], addition: str) -> list[dict[str, Any]]:
    """Merge `addition` into the first system (or developer) message, or prepend a system message."""
    if not addition:
        return list(messages)
    for i, message in enumerate(messages):
        if message.get("role") in SYSTEM_ROLES:
            return [*messages[:i], _append_to_system(message, addition), *messages[i + 1:]]
    return [{"role": "system", "content": addition}, *messages]


def render_summary(thread: ThreadForPrompt) -> str:
    if not thread.summary:
        return ""
    return (
        "<conversation_summary>\n"
        f"Summary of the earlier part of this conversation (its first {thread.summarized_through} messages):\n"
        f"{thread.summary}\n"
        "</conversation_summary>"
    )


def system_text(messages: list[dict[str, Any]]) -> str | None:
    """The text of the system (and developer) messages, joined: what a conversation keeps as its system
    prompt. None when there are none."""
    texts = []
    for m in messages:
        if m.get("role") in SYSTEM_ROLES:
            content = m.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts += [p["text"] if isinstance(p.get("text"), str) else "" for p in content if isinstance(p, dict)]
    return "\n\n".join(t for t in texts if t) if texts else None
