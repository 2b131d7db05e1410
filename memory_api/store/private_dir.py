"""Directories only this user may enter: the embedded Redis's socket's.

The socket is the door to every memory and every key hash. So the socket's
directory must be ours and closed to everyone else, or it is refused: a
directory someone else made (say a predictable one under /tmp) could already
hold their own Redis, which would then receive our writes.
"""

from __future__ import annotations

import os
import stat

from .redis_binary import EmbeddedRedisError

# Group and other may do nothing at all.
_OPEN_BITS = 0o077


def _describe(mode: int) -> str:
    return oct(stat.S_IMODE(mode))


def private_socket_dir(path: str) -> str:
    """Make `path` (a directory for the socket) or accept it only if it is safe; return it.

    Safe means: a real directory (not a symlink), owned by this user, with no
    access for group or other. Anything else is refused, never repaired: by the
    time we see it, whoever could write there may have put their own socket in it.
    """
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise EmbeddedRedisError(f"{path} (for the embedded Redis's socket) is not a directory; remove it")
    if info.st_uid != os.getuid():
        raise EmbeddedRedisError(
            f"{path} (for the embedded Redis's socket) belongs to uid {info.st_uid}, not to you "
            f"(uid {os.getuid()}): refusing to use it, as its owner could serve their own Redis there. "
            "Remove it, or set MEMORY_API_DATA_DIR to a shorter path."
        )
    if info.st_mode & _OPEN_BITS:
        raise EmbeddedRedisError(
            f"{path} (for the embedded Redis's socket) has mode {_describe(info.st_mode)}, open to other "
            "users: refusing to use it, as anyone could have put a socket there. Remove it (it is "
            "recreated 0700)."
        )
    return path
