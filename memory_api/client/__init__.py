"""The Python client of memory-api, built on the official openai SDK.

    from memory_api.client import MemoryAPI

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

__all__ = [
    "AsyncMemoryAPI", "ImportResult", "Memory", "MemoryAPI", "MemoryContext", "MemoryDeleted", "MemoryEvent",
    "MemoryHistory", "MemoryOptions", "MemoryReport", "MemorySearchResult", "MemoryVersion", "Origin",
    "PreconditionFailedError", "ScoredMemory", "Space", "SpaceMember", "memory_report",
]
