"""The JSON types of chat messages and Responses input items, checked before anything reads them.

The service reads a message's role, content (text or content parts), tool calls, name and tool_call_id:
to count its tokens, keep a thread, rank memories against it and capture from it. A wrong JSON type in
one of them (`"tool_calls": 5`, a content part whose `text` is a number) would otherwise fail deep inside
as a 500, after a conversation may have been created. Each is checked here against OpenAI's types and
refused with a 400 naming the field, as OpenAI itself would refuse it. Only types are checked, and only
of the fields OpenAI defines: values, and fields the service never reads (image_url, audio, ...), are
the provider's business and go to it as sent. A null stands for an absent field, as OpenAI reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import InvalidRequest

# The fields that must be strings when present, of a chat message and of a Responses input item (which
# may also be a function call or its output). api/schemas documents them from these lists.
MESSAGE_STRING_FIELDS = ("name", "tool_call_id")
ITEM_STRING_FIELDS = (*MESSAGE_STRING_FIELDS, "type", "id", "call_id")


def _refuse(param: str, what: str) -> InvalidRequest:
    return InvalidRequest(f"'{param}' must be {what}.", param=param, code="invalid_value")


def _check_strings(obj: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    for name in names:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise _refuse(f"{where}.{name}", "a string")


def _each_object(values: object, where: str, array: str, item: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of an array, with their places; 400 naming the array, or the first item, that is not."""
    if not isinstance(values, list):
        raise _refuse(where, array)
    for j, value in enumerate(values):
        if not isinstance(value, dict):
            raise _refuse(f"{where}[{j}]", item)
        yield j, value


def check_content(content: object, where: str) -> None:
    """A message's content: text, or an array of content parts (objects whose `type` and `text` are strings)."""
    if content is None or isinstance(content, str):
        return
    for j, part in _each_object(content, where, "a string or an array of content parts", "a content part (an object)"):
        _check_strings(part, ("type", "text"), f"{where}[{j}]")


def check_tool_calls(tool_calls: object, where: str) -> None:
    """An assistant message's tool calls: an array of objects whose `function` is an object with a string
    `name` and string `arguments` (the JSON of the arguments, as OpenAI sends it)."""
    if tool_calls is None:
        return
    for j, call in _each_object(tool_calls, where, "an array of tool calls", "a tool call (an object)"):
        _check_strings(call, ("id", "type"), f"{where}[{j}]")
        function = call.get("function")
        if function is None:
            continue
        if not isinstance(function, dict):
            raise _refuse(f"{where}[{j}].function", "an object with 'name' and 'arguments'")
        _check_strings(function, ("name", "arguments"), f"{where}[{j}].function")


def check_message_fields(message: dict[str, Any], where: str,
                         string_fields: tuple[str, ...] = MESSAGE_STRING_FIELDS) -> None:
    """The types of a message's content, tool calls and string fields (its role is the caller's to check:
    chat and Responses allow different ones)."""
    check_content(message.get("content"), f"{where}.content")
    check_tool_calls(message.get("tool_calls"), f"{where}.tool_calls")
    _check_strings(message, string_fields, where)


def check_input_items(items: object) -> None:
    """A Responses `input`: text, or an array of items (objects). A message item's role must be a string;
    every item's content, tool calls and string fields are checked as a chat message's are."""
    if items is None or isinstance(items, str):
        return
    for i, item in _each_object(items, "input", "a string or an array of input items", "an input item (an object)"):
        role = item.get("role")
        if role is not None and not isinstance(role, str):
            raise _refuse(f"input[{i}].role", "a string")
        check_message_fields(item, f"input[{i}]", ITEM_STRING_FIELDS)
