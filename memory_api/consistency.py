"""`memory-api check`: do the records and every index agree, for every user?

Each multi-key write is one Lua script, so Redis applies it whole or not at
all, even when the worker that sent it is killed; this check is how the tests
(and an operator) verify that nothing is half written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .store.consistency import ConsistencyStore


@dataclass
class ConsistencyReport:
    users: int = 0
    memories: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_consistency(store: ConsistencyStore, user_id: str | None = None) -> ConsistencyReport:
    report = ConsistencyReport()
    for user in [user_id] if user_id else store.users():
        report.users += 1
        count, problems = store.memory_problems(user)
        report.memories += count
        report.problems += [f"user {user}: {p}" for p in problems]
    return report
