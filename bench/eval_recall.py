"""Semantic recall: does search find, and does injection carry, the memory a question needs?

    python bench/eval_recall.py [--set bench/data/recall_set.json] [--query-profile on|off]
                                [--embedding-quantize auto|on|off] [--min-relevance X] [--ranks]

Sets: bench/data/recall_set.json (paraphrase) and bench/data/near_miss_set.json
(near misses: 60 facts among 482 memories on the same topics, each question
needing one step of inference, and 42 messages no memory helps with).

The data set (bench/data/recall_set.json) is a fictional user's memories: 70
facts hidden among 531 everyday notes, and for each fact a question phrased
the way people ask in chat that shares no content word (nor stem) with it
("Can I eat this satay sauce?" for "I am allergic to peanuts."). All 601
memories are stored through the service (the offline default embedder, a
private Redis >= 8), then for each mode (keyword, semantic, hybrid) and each
question it reports:

- R@1 / R@5: the fact is the first / among the first five search results;
- in block: the fact reaches the memory block chat would inject, at a tight
  cap of 60 tokens (the question as the query);
- and, for messages no memory helps with ("Write a haiku about rain", the
  near-miss set's `unhelpful` list, sent to whichever set is loaded), how many
  memories the block would carry at the default caps, on average.

With --ranks it also prints, per mode, where the fact ranks among the first
100 results (1, 2-5, 6-10, 11-20, 21-50, 51-100, beyond): how far a reranker
of the first candidates could take R@5.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.services.context import Caps  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "eval"
BLOCK_TOKENS = 60


def load(services: Services, data: dict) -> dict[str, str]:
    """Store notes and facts interleaved (facts of every age); returns fact id -> memory id."""
    notes, facts = list(data.get("notes") or data["distractors"]), list(data["facts"])
    every = max(len(notes) // len(facts), 1)
    fact_ids: dict[str, str] = {}
    for i, note in enumerate(notes):
        if i % every == 0 and facts:
            fact = facts.pop(0)
            fact_ids[fact["id"]] = services.memories.create(USER, fact["fact"]).memory.id
        services.memories.create(USER, note)
    for fact in facts:
        fact_ids[fact["id"]] = services.memories.create(USER, fact["fact"]).memory.id
    return fact_ids


def evaluate(services: Services, data: dict, fact_ids: dict[str, str], mode: str) -> dict[str, float]:
    at1 = at5 = in_block = 0
    started = time.perf_counter()
    for fact in data["facts"]:
        wanted = fact_ids[fact["id"]]
        found = [s.memory.id for s in services.search.search(USER, fact["question"], limit=5, mode=mode).items]
        at1 += found[:1] == [wanted]
        at5 += wanted in found
        block = services.context.build(USER, query=fact["question"], mode=mode,
                                       caps=Caps(max_words=1000, max_tokens=BLOCK_TOKENS))
        in_block += wanted in block.memory_ids
    n = len(data["facts"])
    ms = (time.perf_counter() - started) * 1000 / n / 2
    return {"R@1": at1 / n, "R@5": at5 / n, "in block": in_block / n, "ms per query": ms}


def unhelpful_injected(services: Services, messages: list[str], mode: str) -> float:
    """Mean memories the block carries (default caps) for messages no memory helps with."""
    return sum(len(services.context.build(USER, query=m, mode=mode).memory_ids) for m in messages) / len(messages)


RANK_BANDS = ((1, "1"), (5, "2-5"), (10, "6-10"), (20, "11-20"), (50, "21-50"), (100, "51-100"))


def rank_bands(services: Services, data: dict, fact_ids: dict[str, str], mode: str) -> dict[str, int]:
    """How many facts rank in each band of the first 100 results ("beyond": not among them)."""
    bands = {name: 0 for _, name in RANK_BANDS} | {"beyond": 0}
    for fact in data["facts"]:
        found = [s.memory.id for s in services.search.search(USER, fact["question"], limit=100, mode=mode).items]
        wanted = fact_ids[fact["id"]]
        rank = found.index(wanted) + 1 if wanted in found else None
        bands[next((name for top, name in RANK_BANDS if rank is not None and rank <= top), "beyond")] += 1
    return bands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default=os.path.join(HERE, "data", "recall_set.json"))
    parser.add_argument("--query-profile", choices=("on", "off"), default="on",
                        help="adapt queries to the user (MEMORY_API_QUERY_PROFILE; default on, as the service)")
    parser.add_argument("--embedding-quantize", choices=("auto", "on", "off"), default="auto",
                        help="MEMORY_API_EMBEDDING_QUANTIZE: off runs the model as shipped (default auto, as the service)")
    parser.add_argument("--min-relevance", type=float,
                        help="MEMORY_API_MIN_RELEVANCE (default: the service's)")
    parser.add_argument("--ranks", action="store_true", help="also print where each mode ranks the facts")
    args = parser.parse_args()
    with open(args.set, encoding="utf-8") as fh:
        data = json.load(fh)
    server = PrivateRedis()
    overrides = {} if args.min_relevance is None else {"min_relevance": args.min_relevance}
    services = Services.build(Settings(redis_url=server.url, query_profile=args.query_profile == "on",
                                       embedding_quantize=args.embedding_quantize, **overrides))
    with open(os.path.join(HERE, "data", "near_miss_set.json"), encoding="utf-8") as fh:
        unhelpful = json.load(fh)["unhelpful"]
    try:
        caps = services.capabilities()
        print(f"Redis {caps['redis_version']}, embedding model {caps['embedding_model']}; "
              f"{len(data['facts'])} facts among {len(data.get('notes') or data['distractors'])} other memories; "
              f"min relevance {getattr(services.context, 'min_relevance', None)}")
        started = time.perf_counter()
        fact_ids = load(services, data)
        stored = len(data["facts"]) + len(data.get("notes") or data["distractors"])
        print(f"stored {stored} memories in {time.perf_counter() - started:.1f} s")
        print(f"\n| mode | R@1 | R@5 | in block ({BLOCK_TOKENS} tokens) | injected for an unrelated message "
              "| ms per search or block |")
        print("|---|---:|---:|---:|---:|---:|")
        for mode in ("keyword", "semantic", "hybrid"):
            r = evaluate(services, data, fact_ids, mode)
            idle = unhelpful_injected(services, unhelpful, mode)
            print(f"| {mode} | {r['R@1']:.0%} | {r['R@5']:.0%} | {r['in block']:.0%} | {idle:.1f} "
                  f"| {r['ms per query']:.1f} |")
        if args.ranks:
            print("\nwhere the fact ranks among the first 100 results (number of questions):")
            for mode in ("keyword", "semantic", "hybrid"):
                bands = rank_bands(services, data, fact_ids, mode)
                print(f"  {mode:<9} " + "  ".join(f"{name}: {n}" for name, n in bands.items()))
    finally:
        services.close()
        server.stop()


if __name__ == "__main__":
    main()
