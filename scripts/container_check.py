"""The HTTP half of scripts/check-container: the provider stand-in, and the requests a user would make.

    container_check.py image-config         the image's configuration (docker image inspect's .Config, on
                                            stdin): a non-root user, a HEALTHCHECK, port 8000, no secrets
    container_check.py bridge-address       the host's IPv4 address on docker0 (what containers reach it at)
    container_check.py provider HOST DIR    run tests/fake_llm.py's FakeLLM on HOST until SIGTERM; write its
                                            URL to DIR/url and, after each request, all it received to
                                            DIR/requests.json
    container_check.py ready URL SECONDS    wait until URL/healthz answers 200 with vector sets (Redis 8)
    container_check.py exercise URL KEY DIR create a memory, find it by keywords and by meaning, chat (the
                                            stand-in must receive it in the system prompt) with capture on
                                            (the capture worker must store what the stand-in extracts);
                                            prints the memory's id
    container_check.py present URL KEY ID   that memory and the captured one are still there, and found

Each check that fails exits 1 with a message saying what was expected and what came instead. Only the
standard library and the repository's own modules: it runs with the project's venv (.venv/bin/python).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MEMORY = "I am vegetarian and allergic to peanuts."
QUESTION = "What should I cook for dinner tonight? Something with peanuts?"
# What the stand-in model extracts when the conversation mentions the cat, so that the capture worker has
# something to store: proof that a worker took the job and wrote through the API's store.
CAT_TURN = "By the way, I have a cat called Miso."
CAPTURED = "Has a cat called Miso."


class CheckFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def call(url: str, method: str, path: str, key: str | None = None, body: dict | None = None,
         expect_status: int = 200, timeout: float = 30) -> dict:
    """One request; its JSON answer (a status other than `expect_status` fails the check)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    expect(status == expect_status, f"{method} {path}: expected {expect_status}, got {status}: {text[:500]}")
    return json.loads(text) if text else {}


def wait_for(what: str, seconds: float, probe):
    """probe()'s first true answer within `seconds` (polled every 0.25 s), else the check fails."""
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (OSError, CheckFailed, ValueError) as exc:  # not up yet, or not yet in the wanted state
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise CheckFailed(f"{what}: not within {seconds:.0f} s (last: {str(last)[:300]})")


# --- the image ------------------------------------------------------------------------------------


def image_config() -> None:
    config = json.load(sys.stdin)
    user = config.get("User") or ""
    expect(user.split(":")[0] not in ("", "root", "0"), f"the image runs as root (USER {user!r})")
    expect(bool((config.get("Healthcheck") or {}).get("Test")), "the image has no HEALTHCHECK")
    expect("8000/tcp" in (config.get("ExposedPorts") or {}), "the image does not EXPOSE 8000")
    names = [entry.split("=", 1)[0] for entry in config.get("Env") or []]
    secrets = [name for name in names if {"KEY", "SECRET", "TOKEN", "PASSWORD"} & set(name.upper().split("_"))]
    expect(not secrets, f"the image bakes in {secrets}")
    print(f"user {user}, port 8000, HEALTHCHECK, no secret among {len(names)} variables")


# --- the provider stand-in -----------------------------------------------------------------------


def bridge_address(interface: str = "docker0") -> None:
    import fcntl
    import socket
    import struct

    siocgifaddr = 0x8915  # Linux: an interface's IPv4 address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            packed = fcntl.ioctl(probe.fileno(), siocgifaddr, struct.pack("256s", interface.encode()))
        except OSError as exc:
            raise CheckFailed(f"no IPv4 address on {interface} ({exc}): is dockerd running?") from None
    print(socket.inet_ntoa(packed[20:24]))


def provider(host: str, directory: str) -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from fake_llm import FakeLLM

    def extract(body: dict) -> dict:
        said = json.dumps(body)
        if "Miso" not in said:
            return {"operations": []}
        return {"operations": [{"action": "add", "memory_id": None, "content": CAPTURED,
                                "reason": "said they have a cat called Miso"}]}

    out = Path(directory)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with FakeLLM(host=host) as fake:
        fake.extractions.extend([extract] * 1000)
        _write(out / "url", fake.url)
        while True:
            fake.request_received.wait()
            fake.request_received.clear()
            with fake.lock:
                received = json.dumps(fake.requests)
            _write(out / "requests.json", received)


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def provider_requests(directory: str) -> list[dict]:
    try:
        return json.loads((Path(directory) / "requests.json").read_text())
    except FileNotFoundError:
        return []


# --- the checks -------------------------------------------------------------------------------------


def ready(url: str, seconds: str) -> None:
    started = time.monotonic()

    def healthy():
        health = call(url, "GET", "/healthz", timeout=5)
        expect(health["capabilities"]["vector_sets"], f"/healthz: Redis without vector sets: {health}")
        return health

    health = wait_for(f"{url}/healthz answering 200", float(seconds), healthy)
    caps = health["capabilities"]
    print(f"healthy after {time.monotonic() - started:.1f} s: Redis {caps['redis_version']}, "
          f"{caps['embedding_model']}, search {caps['default_search_mode']}")


def exercise(url: str, key: str, directory: str) -> None:
    memory = call(url, "POST", "/v1/memory", key, {"content": MEMORY})
    memory_id = memory["id"]
    expect(memory["content"] == MEMORY, f"created {memory}")

    found = call(url, "GET", "/v1/memory/search?" + urllib.parse.urlencode({"query": "peanuts"}), key)
    expect([m["id"] for m in found["data"]][:1] == [memory_id], f"keyword search for 'peanuts': {found}")
    by_meaning = call(url, "POST", "/v1/memory/search", key,
                      {"query": "which foods must this person avoid", "mode": "semantic"})
    expect([m["id"] for m in by_meaning["data"]][:1] == [memory_id], f"semantic search: {by_meaning}")

    reply = call(url, "POST", "/v1/chat/completions", key, {
        "model": "gpt-4o-mini", "memory": {"capture": True},
        "messages": [{"role": "user", "content": f"{CAT_TURN} {QUESTION}"}]})
    answer = reply["choices"][0]["message"]["content"]
    expect(answer.startswith("echo:"), f"chat answer not from the provider stand-in: {answer!r}")
    expect(memory_id in reply["memory"]["injected_ids"], f"chat's memory report: {reply['memory']}")

    def chat_request():
        for request in provider_requests(directory):
            body = request.get("body") or {}
            messages = body.get("messages") or []
            if request["path"].endswith("/chat/completions") and any(QUESTION in str(m.get("content"))
                                                                     for m in messages):
                return body
        return None

    sent = wait_for("the provider stand-in receiving the chat request", 10, chat_request)
    system = [m["content"] for m in sent["messages"] if m["role"] == "system"]
    expect(bool(system) and MEMORY in system[0],
           f"the system prompt the provider received lacks the memory: {system}")

    job_id = reply["memory"]["capture_job"]
    expect(bool(job_id), f"no capture job for a turn with memory.capture true: {reply['memory']}")

    def job_done():
        job = call(url, "GET", f"/v1/memory/capture/jobs/{job_id}", key)
        expect(job["state"] not in ("failed", "skipped"), f"capture job {job}")
        return job if job["state"] == "done" else None

    wait_for(f"capture job {job_id} done by a capture worker", 60, job_done)
    captured = [m for m in call(url, "GET", "/v1/memory?limit=100", key)["data"] if m["content"] == CAPTURED]
    expect(len(captured) == 1 and captured[0]["source"] == "auto",
           f"the capture worker's memory ({CAPTURED!r}, source auto): {captured}")
    print(memory_id)


def present(url: str, key: str, memory_id: str) -> None:
    memory = call(url, "GET", f"/v1/memory/{memory_id}", key)
    expect(memory["content"] == MEMORY, f"after the restart: {memory}")
    found = call(url, "POST", "/v1/memory/search", key, {"query": "which foods must this person avoid",
                                                        "mode": "semantic"})
    expect(memory_id in [m["id"] for m in found["data"]], f"after the restart, semantic search: {found}")
    contents = [m["content"] for m in call(url, "GET", "/v1/memory?limit=100", key)["data"]]
    expect(CAPTURED in contents, f"after the restart, the captured memory is gone: {contents}")


COMMANDS = {"image-config": image_config, "bridge-address": bridge_address, "provider": provider,
            "ready": ready, "exercise": exercise, "present": present}

if __name__ == "__main__":
    command, *arguments = sys.argv[1:] or ["--help"]
    if command not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[command](*arguments)
    except CheckFailed as exc:
        print(f"check-container: FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
