"""The chat proxy's own work stays small: what it reads to choose memories, and its provider connections.

(How long it takes is measured by bench/proxy_overhead.py, not here: these pin the work that was cut.)
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers import auth, with_provider
from memory_api import create_app
from memory_api.ids import new_memory_id
from memory_api.models import Memory
from memory_api.services.context_block import MAX_MISSES_IN_A_ROW, select_memories_within_caps


def test_selection_stops_looking_once_the_caps_are_all_but_full():
    pulled = 0

    def candidates():
        nonlocal pulled
        for _ in range(1000):
            pulled += 1
            yield Memory(id=new_memory_id(), content=" ".join(["word"] * 11), word_count=11, token_count=11)

    selection = select_memories_within_caps(candidates(), max_words=100, max_tokens=2000, encoding="o200k_base",
                                            total=1000)
    assert len(selection.memories) == 9  # 99 words: no 11-word memory fits in the last one
    assert pulled == 9 + MAX_MISSES_IN_A_ROW  # it used to look at 500


def test_injection_reads_a_few_dozen_records_not_hundreds(settings, fake_llm, make_key):
    app = create_app(with_provider(settings, fake_llm))
    services = app.extensions["memory_api"]
    key = make_key("alice")
    for start in range(0, 400, 100):
        services.memories.create_batch("alice", [{"content": f"{'tea ' * 9}note {i}"} for i in range(start, start + 100)])
    store = services.context._store
    read: list[int] = []
    page = store.page

    def counting_page(*args, **kwargs):
        found = page(*args, **kwargs)
        read.append(len(found))
        return found

    store.page = counting_page
    # Without a query (a preview of what a user's newest memories would give), the newest are read.
    resp = app.test_client().post("/v1/memory/context", headers=auth(key), json={"max_words": 100})
    assert resp.status_code == 200
    assert resp.json["word_count"] == 99 and len(resp.json["memory_ids"]) == 9
    assert read[0] == 50 and sum(read) <= 150, read  # it used to read 200 at a time, 500 in all
    services.close()


class KeepAliveProvider:
    """A streaming chat provider on HTTP/1.1 keep-alive that counts the connections it was opened."""

    def __init__(self) -> None:
        self.connections = 0
        provider = self
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}}]}
        body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                provider.connections += 1
                super().setup()

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_finished_streams_give_their_provider_connection_back(settings, make_key):
    provider = KeepAliveProvider()
    try:
        app = create_app(settings.replace(openai_base_url=provider.url, openai_api_key="sk-upstream"))
        key = make_key("alice")
        client = app.test_client()
        for _ in range(3):
            resp = client.post("/v1/chat/completions", headers=auth(key), json={
                "model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
            assert resp.get_data().endswith(b"data: [DONE]\n\n")
        assert provider.connections == 1  # one each, before: a stream closed its connection unread
        app.extensions["memory_api"].close()
    finally:
        provider.close()
