"""What the offline embedder costs: the model as shipped against its quantised copies (MEMORY_API_EMBEDDING_QUANTIZE).

    python bench/embedding_cost.py [--threads 1] [--rounds 200]

For each: load time, p50 of one query embedding (what a search or a chat adds),
p50 of one memory's (what a create adds: short notes from bench/data/recall_set.json),
the per-item time of a 64-memory batch (an import), and search recall on
bench/data/recall_set.json by exact cosine (numpy, no Redis; the raw query,
then with the user's query profile, services/query_profile.py), so the speed
is never bought with recall unseen. The p50s are measured interleaved: each
text is embedded by every model in turn, so the machine's slow spells fall on
all of them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from memory_api.embeddings import quantize  # noqa: E402
from memory_api.embeddings.onnx_local import OnnxEmbedder, shipped_model_files  # noqa: E402
from memory_api.services.query_profile import QueryProfile  # noqa: E402


def interleaved_p50_ms(embedders: list, work, items) -> list[float]:
    """p50 of `work(embedder, item)` per embedder, each item run by every embedder in turn (the order
    alternating), so a noisy machine's slow spells fall on all of them alike."""
    times: list[list[float]] = [[] for _ in embedders]
    for i, item in enumerate(items):
        order = range(len(embedders)) if i % 2 == 0 else reversed(range(len(embedders)))
        for k in order:
            started = time.perf_counter()
            work(embedders[k], item)
            times[k].append(time.perf_counter() - started)
    return [statistics.median(t) * 1000 for t in times]


def recall(embedder: OnnxEmbedder, data: dict) -> tuple[float, float]:
    """R@5 over the set's 70 questions, raw query and with a query profile fitted on all memories."""
    facts = [f["fact"] for f in data["facts"]]
    documents = embedder.embed_documents(facts + data["notes"])
    queries = np.stack([embedder.embed_query(f["question"]) for f in data["facts"]])
    profile = QueryProfile.fit(embedder.model, documents, len(documents))
    out = []
    for qs in (queries, np.stack([profile.apply(q) for q in queries])):
        scores = qs @ documents.T
        out.append(float(np.mean([(scores[i] > scores[i, i]).sum() < 5 for i in range(len(qs))])))
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with open(os.path.join(ROOT, "bench", "data", "recall_set.json"), encoding="utf-8") as fh:
        data = json.load(fh)
    questions = [f["question"] for f in data["facts"]]
    notes = data["notes"]
    print(f"{os.cpu_count()} CPUs, onnxruntime threads {args.threads}, {args.rounds} rounds each")
    print("| model | load s | query p50 ms | memory p50 ms | batch of 64, ms per memory | R@5 raw | R@5 profile |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    embedders, loads = [], []
    for quantized in (None, *quantize.RECIPES):
        quantize._MEMO.clear()
        started = time.perf_counter()
        embedders.append(OnnxEmbedder(shipped_model_files(quantized=quantized,
                                                          cache_dir=quantize.default_cache_dir()),
                                      threads=args.threads))
        loads.append(time.perf_counter() - started)
        for text in questions[:20]:
            embedders[-1].embed_query(text)
    queries = interleaved_p50_ms(embedders, lambda e, t: e.embed_query(t), (questions * 10)[:args.rounds])
    memories = interleaved_p50_ms(embedders, lambda e, t: e.embed_documents([t]), notes[:args.rounds])
    for embedder, load, query, memory in zip(embedders, loads, queries, memories):
        started = time.perf_counter()
        for i in range(0, 192, 64):
            embedder.embed_documents(notes[i:i + 64])
        batch = (time.perf_counter() - started) / 192 * 1000
        raw, profiled = recall(embedder, data)
        print(f"| {embedder.model} | {load:.1f} | {query:.2f} | {memory:.2f} | {batch:.2f} | {raw:.0%} | {profiled:.0%} |")


if __name__ == "__main__":
    main()
