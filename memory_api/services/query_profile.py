"""A user's query profile: what most of their memories have in common, taken out of a query's vector.

Sentence embeddings of one person's memories share a few strong directions
(the way they write, the topics they write about most). Those directions
dominate cosine similarity, so a question is drawn to every note that shares
its theme rather than to the one memory it needs. Removing the mean of the
user's vectors and their top principal directions from the *query* ("all but
the top", Mu and Viswanath, ICLR 2018), before the nearest-neighbour search,
lets the dimensions that tell memories apart decide. Stored vectors are not
changed, so the profile can be refit at any time without a reindex.

On bench/data/recall_set.json (70 questions among 601 memories, the offline
model) it takes semantic R@5 from 56% to about 64% (docs/benchmarks.md);
fitted on unrelated text instead of the user's own memories it gains nothing,
which is why the profile is per user.

A query adapted this way is less similar to every memory than the query itself
was (what it shares with all of them is gone), by an amount that differs from
user to user. So that a similarity means the same for every user (hybrid
scores, and the relevance an injected memory needs, are absolute:
services/fusion.py), the profile also keeps a linear map back to the plain
query's scale (`to_plain`), fitted on the same sample: the adapted similarities
of sample memories to others, against their plain ones. It changes no order.

The profile is fitted on a random sample of the user's vectors once they have
PROFILE_MIN_VECTORS, and refitted as the set grows by a quarter. Below that,
queries are used as they are: with few memories the top directions are those
memories' own differences, and removing them would erase what tells them apart.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass

import numpy as np

PROFILE_MIN_VECTORS = 100  # fit a profile only for a vector set this large
# Vectors read to fit it (VRANDMEMBER + VEMB RAW): ~40 ms, once per refit; all of a set this small, so the
# same memories give the same profile.
PROFILE_SAMPLE = 1024
PROFILE_DIRECTIONS = 3  # top principal directions removed (3 to 8 measured alike: docs/benchmarks.md)
CALIBRATION_QUERIES = 128  # sample memories that stand for queries when the similarity scale is fitted
REFIT_GROWTH = 1.25  # refit once the vector set has grown by this factor since the fit

_HEADER = struct.Struct("<III")  # vectors in the set when fitted, directions, dimensions


@dataclass(frozen=True)
class QueryProfile:
    model: str  # the embedding model of the vectors it was fitted on
    fitted_on: int  # VCARD when it was fitted
    mean: np.ndarray  # [dim]
    directions: np.ndarray  # [k, dim], orthonormal
    scale: float = 1.0  # to_plain: plain similarity ~ scale * adapted similarity + offset
    offset: float = 0.0

    @classmethod
    def fit(cls, model: str, vectors: np.ndarray, fitted_on: int, k: int = PROFILE_DIRECTIONS) -> QueryProfile:
        """The profile of a sample of a user's vectors (rows)."""
        sample = np.asarray(vectors, dtype=np.float64)
        mean = sample.mean(axis=0)
        _, _, components = np.linalg.svd(sample - mean, full_matrices=False)
        profile = cls(model, fitted_on, mean.astype(np.float32), components[:k].astype(np.float32))
        scale, offset = profile._plain_scale(sample.astype(np.float32))
        return dataclasses.replace(profile, scale=scale, offset=offset)

    def _plain_scale(self, sample: np.ndarray) -> tuple[float, float]:
        """(scale, offset) of the least-squares line from adapted to plain similarities, sample memories
        (up to CALIBRATION_QUERIES of them, each standing for a query) against all the others."""
        queries = sample[:CALIBRATION_QUERIES]
        adapted = np.vstack([self.apply(q) for q in queries]) @ sample.T
        plain = queries @ sample.T
        others = ~np.eye(len(queries), len(sample), dtype=bool)  # not a memory against itself
        scale, offset = np.polyfit(adapted[others], plain[others], 1)
        return (float(scale), float(offset)) if scale > 0 else (1.0, 0.0)

    def to_plain(self, similarity: float) -> float:
        """An adapted query's cosine similarity on the plain query's scale (`fit`)."""
        return self.scale * similarity + self.offset

    def apply(self, query: np.ndarray) -> np.ndarray:
        """The query with the user's mean and top directions removed, unit length (the query itself if
        nothing is left of it, which only a query equal to the mean could cause)."""
        centred = np.asarray(query, dtype=np.float32) - self.mean
        adjusted = centred - (self.directions @ centred) @ self.directions
        norm = float(np.linalg.norm(adjusted))
        return adjusted / norm if norm > 1e-6 else np.asarray(query, dtype=np.float32)

    def stale(self, model: str, vectors_now: int) -> bool:
        """Whether to refit: another model's vectors, or a set grown by REFIT_GROWTH since the fit
        (a set only grows, until it is dropped whole; see memory_lua_prelude.py put_vector)."""
        return model != self.model or vectors_now >= self.fitted_on * REFIT_GROWTH or vectors_now < self.fitted_on

    def encode(self) -> bytes:
        k, dim = self.directions.shape
        name = self.model.encode()
        return (struct.pack("<H", len(name)) + name + _HEADER.pack(self.fitted_on, k, dim)
                + self.mean.astype("<f4").tobytes() + self.directions.astype("<f4").tobytes()
                + np.array([self.scale, self.offset], dtype="<f4").tobytes())

    @classmethod
    def decode(cls, blob: bytes) -> QueryProfile | None:
        """The profile stored as `blob`, or None if it is not one (never an error: it is only a hint)."""
        try:
            (length,) = struct.unpack_from("<H", blob)
            model = blob[2:2 + length].decode()
            fitted_on, k, dim = _HEADER.unpack_from(blob, 2 + length)
            floats = np.frombuffer(blob, dtype="<f4", offset=2 + length + _HEADER.size)
            if floats.size != dim * (k + 1) + 2:  # (a profile from before the scale: fitted again)
                return None
            return cls(model, fitted_on, floats[:dim].copy(), floats[dim:dim * (k + 1)].reshape(k, dim).copy(),
                       float(floats[-2]), float(floats[-1]))
        except (struct.error, UnicodeDecodeError, ValueError):
            return None


def needs_fit(profile: QueryProfile | None, model: str, vectors_now: int) -> bool:
    """Whether a search should (re)fit the user's profile first."""
    if vectors_now < PROFILE_MIN_VECTORS:
        return False
    return profile is None or profile.stale(model, vectors_now)
