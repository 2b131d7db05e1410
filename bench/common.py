"""Shared pieces of the benchmark scripts: a private redis-server, sample memories."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time

import redis

WORDS = (
    "user prefers coffee tea morning meetings remote work lives in Lyon Berlin Osaka daughter son "
    "birthday March project deadline budget allergic peanuts vegetarian runs marathon plays piano "
    "learning Spanish Japanese works at hospital startup bank favourite colour blue green book film "
    "travels often aisle window seat dog named Pixel cat Miso prefers concise answers detailed code "
    "examples Python Rust reviews on Fridays timezone CET wants reminders before calls"
).split()


def sample_content(rnd: random.Random, min_words: int = 12, max_words: int = 60) -> str:
    """A memory-like sentence of 12-60 words (about 80-400 characters)."""
    return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(min_words, max_words))) + "."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A throwaway redis-server (no persistence) on a free port."""

    def __init__(self) -> None:
        from memory_api.store.redis_binary import redis_server_binary

        exe = redis_server_binary()  # the embedded default's choice: Redis >= 8 where it can be had
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def version(self) -> str:
        return self.client.info("server")["redis_version"]

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
