"""The Python client of memory-api, built on the official openai SDK.

    from memory_api_client import MemoryAPI     # pip install ./clients/python (memory-api-client)

    client = MemoryAPI(base_url="http://127.0.0.1:8000/v1", api_key="sk-mem-...")
    for memory in client.memory.list():            # walks every page
        print(memory.id, memory.content)
    memory = client.memory.create(content="I am vegetarian.")
    client.memory.update(memory_id=memory.id, content="I am vegan.", if_match=memory.etag)
    client.memory.delete(memory_id=memory.id)
    team = client.spaces.create(name="Support")     # a shared space; you are its admin
    client.spaces.members.add(team.id, user="bob", role="writer")
    client.memory.create(content="The customer prefers email.", space=team.id)

MemoryAPI is an `openai.OpenAI` (AsyncMemoryAPI an `openai.AsyncOpenAI`), so retries, timeouts and
error classes are the SDK's, and `client.chat.completions.create(...)` is chat with memory.

This package is the distribution memory-api-client (it needs only `openai`). The server's package carries
the same files as `memory_api.client`, so `from memory_api.client import MemoryAPI` works where the server
is installed; the two names are two copies of one source, so their classes are distinct objects.
"""

from ._client import AsyncMemoryAPI, MemoryAPI, PreconditionFailedError
from .types import (
    ImportResult,
    Memory,
    MemoryContext,
    MemoryDeleted,
    MemoryEvent,
    MemoryHistory,
    MemoryOptions,
    MemoryReport,
    MemorySearchResult,
    MemoryVersion,
    Origin,
    ScoredMemory,
    Space,
    SpaceMember,
    memory_report,
)

# The distribution's version (clients/python/pyproject.toml reads it here); always the server's version
# (tests/test_light_client.py checks).
__version__ = "0.1.0"

__all__ = [
    "AsyncMemoryAPI", "ImportResult", "Memory", "MemoryAPI", "MemoryContext", "MemoryDeleted", "MemoryEvent",
    "MemoryHistory", "MemoryOptions", "MemoryReport", "MemorySearchResult", "MemoryVersion", "Origin",
    "PreconditionFailedError", "ScoredMemory", "Space", "SpaceMember", "memory_report",
]
