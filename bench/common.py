"""Shared pieces of the benchmark scripts: a private redis-server, sample memories."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

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


def wait_for_http(url: str, *, timeout: float = 30.0) -> None:
    """Poll `url` (a server just started, e.g. its /healthz) until it answers; SystemExit if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout:.0f}s")


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
        """used_memory less the Lua VM's heap, which it includes: the write scripts' garbage waits there for
        Lua's collector (3.7 MB after 10,000 creates, 7.4 MB with packed postings' string building, and
        gone after SCRIPT FLUSH), which at small sizes would read as hundreds of bytes per memory."""
        info = self.client.info("memory")
        return int(info["used_memory"]) - int(info.get("used_memory_vm_eval", info.get("used_memory_lua", 0)))

    def version(self) -> str:
        return self.client.info("server")["redis_version"]

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- Varied, realistic memory sentences and a pool of their embeddings -------------------------
# Embedding 100,000 texts with the real model takes ~8 minutes; the size benchmarks embed a pool of
# distinct sentences once and give each stored memory a pooled vector (see pooled_vectors).

_PEOPLE = ("my sister Ana", "my brother Tom", "my daughter Mia", "my son Leo", "my wife", "my husband",
           "my manager Priya", "my colleague Jonas", "my neighbour", "my best friend Sam", "my mother",
           "my father", "my landlord", "my dentist", "my running partner", "our nanny", "my grandmother",
           "the new intern", "my cousin Luca", "my flatmate")
_PLACES = ("Lyon", "Berlin", "Osaka", "Lisbon", "Toronto", "Nairobi", "Melbourne", "Oslo", "Seville",
           "Montreal", "Kyoto", "Edinburgh", "Porto", "Vienna", "Austin", "Cape Town", "Hanoi", "Prague")
_FOODS = ("peanuts", "shellfish", "gluten", "dairy", "sesame", "eggs", "strawberries", "mushrooms",
          "coriander", "spicy food", "raw onions", "red meat", "soy", "kiwi", "olives", "blue cheese")
_ACTIVITIES = ("running", "bouldering", "swimming", "playing the piano", "learning Japanese", "baking bread",
               "gardening", "cycling to work", "painting watercolours", "playing chess", "yoga",
               "birdwatching", "woodworking", "salsa dancing", "writing short stories", "sailing",
               "playing football", "knitting", "photography", "learning Spanish")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_TOPICS = ("the budget review", "the product launch", "the database migration", "the hiring plan",
           "the quarterly report", "the kitchen renovation", "the wedding", "the school trip",
           "the conference talk", "the tax return", "the mortgage", "the new website", "the insurance claim",
           "the client workshop", "the car repair", "the visa application", "the team offsite")
_THINGS = ("concise answers", "detailed code examples", "answers in French", "bullet points",
           "a formal tone", "metric units", "24-hour times", "short emails", "step-by-step instructions",
           "examples in Python", "examples in Rust", "plain language", "tables over prose")
_TEMPLATES = (
    "{person} lives in {place} and visits every {month}.",
    "I am allergic to {food}, so please never suggest recipes with it.",
    "{person} cannot eat {food}; remember it when planning dinner.",
    "I have been {activity} on {day} mornings since last {month}.",
    "{person} started {activity} and wants to do it in {place} next {month}.",
    "The deadline for {topic} is the last {day} of {month}.",
    "I moved from {place} to {place2} in {month} for a new job.",
    "I prefer {thing} when you explain something to me.",
    "Please use {thing}; I find anything else hard to follow.",
    "{person}'s birthday is in {month}; they love {activity}.",
    "Every {day} I call {person} after dinner.",
    "I am meeting {person} in {place} to talk about {topic}.",
    "{topic} was postponed to {month} because {person} is away.",
    "My favourite holiday was two weeks in {place}, mostly {activity}.",
    "I keep forgetting to pay for {topic}; remind me every {day}.",
    "{person} recommended a restaurant in {place} with no {food} on the menu.",
    "I want to get better at {activity} before the trip to {place} in {month}.",
    "On {day}s I work from home and avoid meetings before noon.",
    "{person} is handling {topic} while I am in {place}.",
    "I stopped {activity} after a knee injury in {month}.",
)


def varied_sentences(count: int, seed: int = 11) -> list[str]:
    """`count` distinct, natural-sounding memory sentences (templates with varied fillers)."""
    rnd = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        place, place2 = rnd.sample(_PLACES, 2)
        text = rnd.choice(_TEMPLATES).format(
            person=rnd.choice(_PEOPLE), place=place, place2=place2, food=rnd.choice(_FOODS),
            activity=rnd.choice(_ACTIVITIES), day=rnd.choice(_DAYS), month=rnd.choice(_MONTHS),
            topic=rnd.choice(_TOPICS), thing=rnd.choice(_THINGS))
        text = text[0].upper() + text[1:]
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def embedding_pool(embedder, sentences: list[str], batch: int = 256):
    """The real embeddings of `sentences` (float32, one unit row each), and the seconds they took."""
    import numpy as np

    started = time.monotonic()
    rows = [embedder.embed_documents(sentences[i:i + batch]) for i in range(0, len(sentences), batch)]
    return np.vstack(rows).astype("<f4"), time.monotonic() - started


def pooled_vectors(pool, count: int, rnd: random.Random, noise: float = 0.25) -> list[bytes]:
    """`count` FP32 blobs for stored memories: a random pool vector each, plus Gaussian noise of about
    `noise` in norm, renormalised (cosine to its pool vector ~0.97), so no two stored vectors are equal
    (exact duplicates would make an unrealistic HNSW graph)."""
    import numpy as np

    gen = np.random.default_rng(rnd.randrange(2**32))
    picked = pool[gen.integers(0, len(pool), size=count)]
    picked = picked + gen.normal(0.0, noise / np.sqrt(pool.shape[1]), size=picked.shape).astype("<f4")
    picked /= np.linalg.norm(picked, axis=1, keepdims=True)
    return [row.astype("<f4").tobytes() for row in picked]
