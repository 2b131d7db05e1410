"""marshmallow schemas of extraction (POST /v1/memory/extract) and pending suggestions."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ...ids import CAPTURE_JOB_ID_PATTERN, MEMORY_ID_PATTERN, SUGGESTION_ID_PATTERN
from ...validation import SCOPE_PATTERN
from .chat import ChatMessage
from .common import MAX_UNIX_TIME, MemoryObject, Origin, StrictBool, StrictInt, constant, limits, list_of

ACTIONS = ["add", "update", "delete"]


class ExtractRequest(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    messages = fields.List(fields.Nested(ChatMessage), required=True, validate=validate.Length(min=1),
                           metadata=limits("The conversation, in OpenAI's chat format; at most {max_chat_messages} "
                                           "messages (MEMORY_API_MAX_CHAT_MESSAGES).", maxItems="max_chat_messages"))
    apply = StrictBool(load_default=False, metadata={
        "description": "false (default): only propose. true: apply the operations (source `auto`); changes to "
                       "memories a user wrote become pending suggestions unless "
                       "MEMORY_API_CAPTURE_MAY_EDIT_USER_MEMORIES is on."})
    model = fields.String(metadata={"description": "The model to ask (default: MEMORY_API_CAPTURE_MODEL)."})
    scope = fields.String(allow_none=True, metadata={
        "pattern": SCOPE_PATTERN,
        "description": "The conversation's scope: the model is shown the global memories and this scope's "
                       "(never another scope's), and what it adds goes into this scope. Absent or null: "
                       "global memories only, as a chat without a scope injects."})
    occurred_at = StrictInt(allow_none=True, metadata={
        "minimum": 0, "maximum": MAX_UNIX_TIME,
        "description": "When the conversation took place (Unix seconds; absent or null: now). The model resolves "
                       "its relative dates (\"last Saturday\") against this day, and what it adds without a "
                       "date of its own gets this occurred_at."})


class ProposedOperation(ma.Schema):
    action = fields.String(required=True, metadata={"enum": ACTIONS})
    memory_id = fields.String(required=True, allow_none=True, metadata={"pattern": MEMORY_ID_PATTERN})
    content = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)
    occurred_at = fields.Integer(required=True, allow_none=True, metadata={
        "description": "add: when the fact happened (the model's date), else when it was said."})
    expires_at = fields.Integer(required=True, allow_none=True, metadata={
        "description": "add: the end (UTC) of the last day the fact matters on, when the model gave one."})
    supersedes = fields.String(required=True, allow_none=True, metadata={
        "pattern": MEMORY_ID_PATTERN,
        "description": "add: the memory this fact ends (it gets valid_until, or a `supersede` suggestion if "
                       "the user wrote it); null otherwise."})


class AppliedOperation(ProposedOperation):
    status = fields.String(required=True, metadata={"enum": ["applied", "suggested", "skipped"]})
    memory = fields.Nested(MemoryObject, required=True, allow_none=True)
    suggestion_id = fields.String(required=True, allow_none=True, metadata={"pattern": SUGGESTION_ID_PATTERN})
    detail = fields.String(required=True, allow_none=True)


class Extraction(ma.Schema):
    object = constant("memory.extraction")
    applied = fields.Boolean(required=True)
    operations = fields.List(fields.Nested(ProposedOperation), required=True)
    results = fields.List(fields.Nested(AppliedOperation), required=True, allow_none=True,
                          metadata={"description": "With apply: what became of each operation (else null)."})


class Suggestion(ma.Schema):
    object = constant("memory.suggestion")
    id = fields.String(required=True, metadata={"pattern": SUGGESTION_ID_PATTERN})
    action = fields.String(required=True, metadata={
        "enum": ["update", "delete", "supersede", "add"],
        "description": "update: set its content; delete: delete it; supersede: a newer fact ended it, so set "
                       "its valid_until (it stays stored, out of the injected block); add: a new memory capture "
                       "would not store by itself (it read as an instruction to the assistant, or a secret)."})
    memory_id = fields.String(required=True, allow_none=True, metadata={
        "pattern": MEMORY_ID_PATTERN, "description": "The memory it is about; null for add."})
    content = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)
    revision = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The memory's revision it was made for; null for add."})
    valid_until = fields.Integer(required=True, allow_none=True, metadata={
        "description": "supersede: the valid_until accepting sets; null otherwise."})
    superseded_by = fields.String(required=True, allow_none=True, metadata={
        "pattern": MEMORY_ID_PATTERN, "description": "supersede: the captured memory that ended it."})
    origin = fields.Nested(Origin, required=True, allow_none=True)
    created_at = fields.Integer(required=True)


SuggestionList = list_of("SuggestionList", Suggestion, cursors=False)


class SuggestionDismissed(ma.Schema):
    id = fields.String(required=True, metadata={"pattern": SUGGESTION_ID_PATTERN})
    object = constant("memory.suggestion.dismissed")
    dismissed = fields.Boolean(required=True)


class CaptureJob(ma.Schema):
    object = constant("memory.capture_job")
    id = fields.String(required=True, metadata={"pattern": CAPTURE_JOB_ID_PATTERN})
    state = fields.String(required=True, metadata={
        "enum": ["queued", "running", "retrying", "done", "failed", "skipped"],
        "description": "skipped: the turn had nothing to remember (the model was not asked), or the user "
                       "turned capture off before a worker reached it; `reason` says which."})
    attempts = fields.Integer(required=True)
    created_at = fields.Integer(required=True)
    updated_at = fields.Integer(required=True)
    results = fields.List(fields.Nested(AppliedOperation), required=True, allow_none=True,
                          metadata={"description": "Once done: what became of each operation."})
    error = fields.String(required=True, allow_none=True, metadata={"description": "The last failure, if any."})
    reason = fields.String(required=True, allow_none=True, metadata={
        "description": "Why a job was skipped: `nothing to remember` (a greeting, thanks, a question with no "
                       "statement about the user: the model was not asked) or `the user turned capture off`; "
                       "null otherwise."})


class Preferences(ma.Schema):
    object = constant("memory.preferences")
    capture = fields.Boolean(required=True, allow_none=True, metadata={
        "description": "The user's own choice: never capture memories from their chat turns (false: no request "
                       "or conversation can turn it back on), capture them unless a request or conversation says "
                       "not to (true), or null: the server's default."})
    capture_default = fields.Boolean(required=True, metadata={"description": "The server's default "
                                                                             "(MEMORY_API_AUTO_CAPTURE)."})


class PreferencesUpdate(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    capture = StrictBool(required=True, allow_none=True, metadata={
        "description": "true, false, or null (back to the server's default). false also skips turns already "
                       "queued."})
