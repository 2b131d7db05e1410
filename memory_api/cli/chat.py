"""`memory-api chat`: an interactive chat in the terminal, with memory, over the HTTP API.

It is a client like any other: the official openai SDK pointed at a running
memory-api. It keeps one conversation (the service holds the thread and its
summary), streams replies, and says how many memories were injected.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO
from urllib.parse import quote

import click

from ..lazy_import import LazyModule
from . import main, settings_from_env

if TYPE_CHECKING:
    import openai
else:  # imported on first use (lazy_import.py)
    openai = LazyModule("openai")


def _message(err: openai.APIError) -> str:
    """Our envelope's message, without the SDK's "Error code: ..." prefix."""
    body = err.body if isinstance(err.body, dict) else {}
    return body.get("message") or err.message


def run_chat(url: str, key: str, *, model: str | None, conversation_id: str | None, inject: bool,
             capture: bool | None = None, out: TextIO = sys.stdout) -> int:
    client = openai.OpenAI(base_url=url.rstrip("/") + "/v1", api_key=key, max_retries=1)
    try:
        if conversation_id is None:
            conversation_id = client.post("/conversations", cast_to=dict, body={})["id"]
        else:  # one to continue must exist (and be the caller's) before the first turn, not after it
            client.get(f"/conversations/{quote(conversation_id, safe='')}", cast_to=dict)
    except openai.APIConnectionError:
        print(f"error: cannot reach memory-api at {url}", file=sys.stderr)
        return 1
    except openai.APIStatusError as err:
        print(f"error: {_message(err)}", file=sys.stderr)
        return 1
    print(f"conversation {conversation_id}. Type 'quit' or 'exit' (or Ctrl-D) to leave.", file=out)
    while True:
        try:
            text = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print(file=out)
            return 0
        if text.strip().lower() in ("quit", "exit"):
            return 0
        if not text.strip():
            continue
        _one_turn(client, text, model=model, conversation_id=conversation_id, inject=inject, capture=capture,
                  out=out)


def _one_turn(client: openai.OpenAI, text: str, *, model: str | None, conversation_id: str, inject: bool,
              capture: bool | None, out: TextIO) -> None:
    options: dict[str, bool] = {"inject": inject}
    if capture is not None:  # None: the server's (or the conversation's) default
        options["capture"] = capture
    body = {"conversation_id": conversation_id, "memory": options}
    try:
        stream = client.chat.completions.create(
            model=model or "",  # empty: the server's MEMORY_API_CHAT_MODEL
            messages=[{"role": "user", "content": text}],
            stream=True,
            extra_body=body,
        )
        injected = stream.response.headers.get("x-memory-injected-count", "0")
        print(f"[{injected} {'memory' if injected == '1' else 'memories'} injected]", file=out)
        out.write("assistant> ")
        for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content:
                    out.write(choice.delta.content)
                    out.flush()
        out.write("\n")
        job = stream.response.headers.get("x-memory-capture-job")
        if job:
            print(f"[remembering what matters from this turn: capture job {job}]", file=out)
    except KeyboardInterrupt:
        out.write("\n[interrupted]\n")
    except openai.APIError as err:
        out.write(f"\nerror: {_message(err)}\n")
    out.flush()


@main.command()
@click.option("--url", help="memory-api to talk to (default MEMORY_API_URL or http://127.0.0.1:8000).")
@click.option("--key", help="API key (default MEMORY_API_KEY).")
@click.option("--model", help="Model to ask (default: the server's MEMORY_API_CHAT_MODEL).")
@click.option("--conversation", "conversation_id", help="Continue this conversation (conv_...).")
@click.option("--no-memory", is_flag=True, help="Do not inject stored memories.")
@click.option("--capture/--no-capture", default=None,
              help="Capture memories from each answered turn, or not (default: the server's MEMORY_API_AUTO_CAPTURE; "
                   "your own preference, if you turned capture off, always wins).")
def chat(url: str | None, key: str | None, model: str | None, conversation_id: str | None, no_memory: bool,
         capture: bool | None) -> None:
    """Chat in the terminal with a running memory-api; replies stream, memories are injected."""
    settings = settings_from_env()
    key = key or settings.client_key
    if not key:
        raise click.UsageError("give --key or set MEMORY_API_KEY")
    sys.exit(run_chat(url or settings.client_url, key, model=model, conversation_id=conversation_id,
                      inject=not no_memory, capture=capture))
