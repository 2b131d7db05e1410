"""A real local HTTP server that speaks OpenAI's chat-completions protocol and records requests.

It stands in for the model provider (the only thing the tests stand in for).
By default it answers "echo: <last user message>"; summary requests (our
summary instructions in the system message) get "SUMMARY[<n> turns]: ..." so
the tests can see a summary travel into the next prompt. POST /v1/embeddings
answers deterministic vectors hashed from the input's words (`fake_embedding`),
so texts sharing words are near each other. GET /v1/models and /v1/models/{id}
list MODELS; POST /v1/responses answers OpenAI's Responses API (plain, or
streamed as its semantic events) with the same echo. Attributes script
failures: queued HTTP errors, failing summaries, slow answers, slow streams,
streams that break off, a provider's own error event mid-stream, answers that are
not a JSON object (a 200 with an array or a string), JSON with raw
U+2028/U+2029/U+0085 (as vLLM and JSON.stringify emit it), provider headers.
"""

from __future__ import annotations

import array
import base64
import hashlib
import json
import math
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SUMMARY_MARK = "You keep the running summary"
from memory_api.services.capture_prompt import EXTRACTION_MARK  # noqa: E402 - the one owner of the prompt's first words
EMBEDDING_DIMENSIONS = 64  # vector size of POST /v1/embeddings when the request names no `dimensions`
MODELS = [{"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
          {"id": "fake-reasoner", "object": "model", "created": 1730000000, "owned_by": "fake"}]


class FakeLLM:
    def __init__(self, host: str = "127.0.0.1") -> None:
        """`host`: the address to listen on (scripts/check-container: one a container can reach)."""
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        # Next chat/responses/models/embeddings/extraction answers: (status, body, headers); the body is any
        # JSON value, so a 200 with an array or a string stands in for a provider that answers garbage.
        self.errors: list[tuple[int, Any, dict]] = []
        self.summary_answers: list[Any] = []  # next summary requests: 200 with this JSON body, as it is
        self.failing_summaries = 0  # how many summary requests fail with a 500
        self.response_delay = 0.0  # seconds before answering a chat request
        self.chunk_delay = 0.0  # seconds between streamed chunks
        self.break_after_chunks: int | None = None  # drop the connection mid-stream
        self.reply_words: int | None = None  # make replies this many words long
        # A slow provider on cue: when set, every stream sends its first chunk, then waits until the
        # test sets this event before it sends the rest (bounded: 60 s). streams_started counts them.
        self.stream_gate: threading.Event | None = None
        self.streams_started = 0
        self.reply_text: str | None = None  # answer exactly this instead of the echo
        self.raw_unicode = False  # write JSON unescaped (U+2028 stays raw), as vLLM and JSON.stringify do
        self.error_event_after_chunks: int | None = None  # send the provider's own error event, then end
        self.response_headers: dict[str, str] = {}  # sent with every chat, responses and models answer
        self.serves_responses = True  # False: /v1/responses is an unknown route, as on a provider without it
        # Scripted answers to extraction requests (memory capture), in order: a dict is sent as JSON,
        # a str as it is (to send garbage). None left: {"operations": []}.
        self.extractions: list[Any] = []
        # The next `hold_extractions` extraction requests wait for extraction_gate (bounded: 60 s) before
        # they are answered; the tests wait on extraction_received to know one arrived.
        self.hold_extractions = 0
        self.failing_embeddings: set[str] = set()  # an embeddings request for one of these texts answers 503, once
        self.extraction_gate = threading.Event()
        self.extraction_received = threading.Event()
        self.sent_streams: list[bytes] = []  # the exact bytes of each stream written, in order
        # Events the tests wait on instead of sleeping: a request arrived; a stream ended (either it
        # ran to its end or the other side hung up while it was being written).
        self.request_received = threading.Event()
        self.stream_ended = threading.Event()
        self.server = ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeLLM":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.extraction_gate.set()  # let a held request end
        self.server.shutdown()
        self.server.server_close()

    # --- what the tests read --------------------------------------------------------

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests
                if r["path"].endswith("/chat/completions") and not _is_summary(r["body"])
                and not _is_extraction(r["body"])]

    @property
    def extraction_requests(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions") and _is_extraction(r["body"])]

    @property
    def summary_requests(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions") and _is_summary(r["body"])]

    @property
    def responses_requests(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"].rstrip("/").endswith("/responses")]

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if _is_embeddings(r)]

    def last_chat(self) -> dict[str, Any]:
        return self.chat_requests[-1]

    def last_sent_stream(self) -> bytes:
        """The bytes of the last stream written; waits for its end (a relay may finish first)."""
        from helpers import wait_until

        wait_until(lambda: self.sent_streams, what="the provider's stream to end")
        return self.sent_streams[-1]

    # --- the server -------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # streams end when the connection closes

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                with fake.lock:
                    fake.requests.append({"path": self.path, "body": None,
                                          "headers": {k.lower(): v for k, v in self.headers.items()}})
                    error = fake.errors.pop(0) if fake.errors else None
                if error:
                    return self._json(*error)
                path = self.path.rstrip("/")
                if path.endswith("/models"):
                    return self._json(200, {"object": "list", "data": MODELS}, fake.response_headers)
                model_id = path.rsplit("/models/", 1)[-1] if "/models/" in path else None
                model = next((m for m in MODELS if m["id"] == model_id), None)
                if model is None:
                    return self._json(404, {"error": {"message": f"The model '{model_id}' does not exist",
                                                      "type": "invalid_request_error", "param": None,
                                                      "code": "model_not_found"}})
                return self._json(200, model, fake.response_headers)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with fake.lock:
                    fake.requests.append({"path": self.path, "body": body,
                                          "headers": {k.lower(): v for k, v in self.headers.items()}})
                fake.request_received.set()
                if _is_embeddings({"path": self.path}):
                    return self._embeddings(body)
                if self.path.rstrip("/").endswith("/responses") and fake.serves_responses:
                    return self._responses(body)
                if not self.path.endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "no such route", "type": "invalid_request_error"}})
                if _is_summary(body):
                    return self._summary(body)
                if _is_extraction(body):
                    return self._extraction(body)
                with fake.lock:
                    error = fake.errors.pop(0) if fake.errors else None
                if error:
                    status, payload, headers = error
                    return self._json(status, payload, headers)
                time.sleep(fake.response_delay)
                reply = fake._reply_text(body)
                if body.get("stream"):
                    return self._stream(body, reply)
                return self._json(200, _completion(body, reply), fake.response_headers)

            def _responses(self, body):
                with fake.lock:
                    error = fake.errors.pop(0) if fake.errors else None
                if error:
                    return self._json(*error)
                reply = fake.reply_text if fake.reply_text is not None else f"echo: {_input_text(body)}"
                response = _response_object(body, reply)
                if not body.get("stream"):
                    return self._json(200, response, fake.response_headers)
                events = _response_events(response, reply)
                return self._write_stream([
                    f"event: {e['type']}\ndata: {fake._dumps(e)}\n\n".encode() for e in events])

            def _embeddings(self, body):
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                with fake.lock:
                    error = fake.errors.pop(0) if fake.errors else None
                    failing = fake.failing_embeddings & {str(t) for t in texts}
                    if error is None and failing:
                        fake.failing_embeddings -= failing
                        error = (503, {"error": {"message": "embeddings overloaded", "type": "server_error"}}, {})
                if error:
                    status, payload, headers = error
                    return self._json(status, payload, headers)
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                size = body.get("dimensions") or EMBEDDING_DIMENSIONS
                data = []
                for i, text in enumerate(inputs):
                    vector = fake_embedding(str(text), size)
                    if body.get("encoding_format") == "base64":
                        vector = base64.b64encode(array.array("f", vector).tobytes()).decode()
                    data.append({"object": "embedding", "index": i, "embedding": vector})
                tokens = sum(len(str(t).split()) for t in inputs)
                return self._json(200, {"object": "list", "data": data, "model": body["model"],
                                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

            def _summary(self, body):
                with fake.lock:
                    fail = fake.failing_summaries > 0
                    fake.failing_summaries -= 1 if fail else 0
                if fail:
                    return self._json(500, {"error": {"message": "summary model down", "type": "server_error"}})
                with fake.lock:
                    scripted = fake.summary_answers.pop(0) if fake.summary_answers else None
                if scripted is not None:
                    return self._json(200, scripted)
                turns = body["messages"][-1]["content"]
                count = turns.count("\nuser: ") + turns.count("\nassistant: ") + int(
                    turns.split("New turns:\n", 1)[-1].startswith(("user: ", "assistant: ")))
                names = [w for w in turns.replace(".", " ").split() if w.istitle() and len(w) > 3][:12]
                return self._json(200, _completion(body, f"SUMMARY[{count} turns]: {' '.join(names)}"))

            def _extraction(self, body):
                with fake.lock:
                    held = fake.hold_extractions > 0
                    fake.hold_extractions -= held
                fake.extraction_received.set()
                if held:
                    fake.extraction_gate.wait(60)
                with fake.lock:
                    error = fake.errors.pop(0) if fake.errors else None
                    answer = fake.extractions.pop(0) if fake.extractions and not error else {"operations": []}
                if error:
                    return self._json(*error)
                if callable(answer):  # a stand-in model that reads what it was sent
                    answer = answer(body)
                return self._json(200, _completion(body, answer if isinstance(answer, str) else json.dumps(answer)))

            def _json(self, status, payload, headers=None):
                data = fake._dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body, reply):
                base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": body["model"]}
                chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                "finish_reason": None}]}]
                for i, word in enumerate(reply.split(" ")):
                    piece = word if i == 0 else " " + word
                    chunks.append({**base, "choices": [{"index": 0, "delta": {"content": piece},
                                                        "finish_reason": None}]})
                chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if (body.get("stream_options") or {}).get("include_usage"):
                    chunks.append({**base, "choices": [], "usage": _usage(body, reply)})
                events = [f"data: {fake._dumps(chunk)}\n\n".encode() for chunk in chunks]
                if fake.error_event_after_chunks is not None:
                    events = events[:fake.error_event_after_chunks] + [
                        b'data: {"error": {"message": "The server had an error while processing your request.", '
                        b'"type": "server_error", "param": null, "code": null}}\n\n']
                    return self._write_stream(events)
                return self._write_stream([*events, b"data: [DONE]\n\n"])

            def _write_stream(self, events):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                for k, v in fake.response_headers.items():
                    self.send_header(k, v)
                self.end_headers()
                sent = b""
                with fake.lock:
                    fake.streams_started += 1
                try:
                    for n, event in enumerate(events):
                        if n == 1 and fake.stream_gate is not None:
                            fake.stream_gate.wait(60)
                        if fake.break_after_chunks is not None and n >= fake.break_after_chunks:
                            self.connection.shutdown(socket.SHUT_RDWR)  # an abrupt end, no [DONE]
                            return
                        self.wfile.write(event)
                        self.wfile.flush()
                        sent += event
                        time.sleep(fake.chunk_delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with fake.lock:
                        fake.sent_streams.append(sent)
                    fake.stream_ended.set()

        return Handler

    def _dumps(self, payload: Any) -> str:
        return json.dumps(payload, ensure_ascii=not self.raw_unicode)

    def _reply_text(self, body: dict[str, Any]) -> str:
        if self.reply_text is not None:
            return self.reply_text
        last_user = next((m for m in reversed(body["messages"]) if m.get("role") == "user"), {"content": ""})
        content = last_user.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        reply = f"echo: {text}"
        if self.reply_words:
            reply = " ".join((reply.split() * self.reply_words)[: self.reply_words])
        return reply


def fake_embedding(text: str, size: int = 64) -> list[float]:
    """A deterministic unit vector: each lowercased word adds 1 at three hashed positions, so texts
    sharing words point the same way."""
    vector = [0.0] * size
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        for k in range(3):
            vector[int.from_bytes(digest[4 * k:4 * k + 4], "big") % size] += 1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:
        vector[0], norm = 1.0, 1.0  # no words: still a unit vector
    return [x / norm for x in vector]


def _is_embeddings(request: dict[str, Any]) -> bool:
    return request["path"].rstrip("/").endswith("/embeddings")


def _is_extraction(body: dict[str, Any]) -> bool:
    first = (body.get("messages") or [{}])[0]
    return first.get("role") == "system" and str(first.get("content", "")).startswith(EXTRACTION_MARK)


def _is_summary(body: dict[str, Any]) -> bool:
    first = (body.get("messages") or [{}])[0]
    return first.get("role") == "system" and str(first.get("content", "")).startswith(SUMMARY_MARK)


def _usage(body: dict[str, Any], reply: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
    completion = len(reply.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(body: dict[str, Any], reply: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        "usage": _usage(body, reply),
        "system_fingerprint": "fp_fake",
    }


def _input_text(body: dict[str, Any]) -> str:
    """The text of the last user input of a Responses request (a string, or message items)."""
    items = body.get("input")
    if isinstance(items, str):
        return items
    for item in reversed(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            parts = content if isinstance(content, list) else []
            return " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
    return ""


def _response_object(body: dict[str, Any], reply: str, status: str = "completed") -> dict[str, Any]:
    words = len(reply.split())
    prompt = len(str(body.get("instructions") or "").split()) + len(json.dumps(body.get("input")).split())
    return {
        "id": "resp_fake", "object": "response", "created_at": 1730000000, "status": status,
        "model": body.get("model"), "instructions": body.get("instructions"),
        "previous_response_id": body.get("previous_response_id"), "store": body.get("store", True),
        "output": [{"id": "msg_fake", "type": "message", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": reply, "annotations": []}]}],
        "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None,
        "incomplete_details": None, "metadata": {}, "temperature": 1.0, "top_p": 1.0,
        "text": {"format": {"type": "text"}}, "truncation": "disabled",
        "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": words, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": prompt + words},
    }


def _response_events(response: dict[str, Any], reply: str) -> list[dict[str, Any]]:
    """The semantic events of a streamed response, as OpenAI sends them (one delta per word)."""
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    item = {"id": "msg_fake", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    at = {"item_id": "msg_fake", "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **at, "part": part},
    ]
    for i, word in enumerate(reply.split(" ")):
        events.append({"type": "response.output_text.delta", **at, "delta": word if i == 0 else " " + word})
    done_part = {**part, "text": reply}
    events += [
        {"type": "response.output_text.done", **at, "text": reply},
        {"type": "response.content_part.done", **at, "part": done_part},
        {"type": "response.output_item.done", "output_index": 0, "item": response["output"][0]},
        {"type": "response.completed", "response": response},
    ]
    return [{**e, "sequence_number": n} for n, e in enumerate(events)]
