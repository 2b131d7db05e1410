"""Directories only this user may enter: the embedded Redis's data directory and its socket's.

The data directory holds every memory and every key hash (the append-only
file), and the socket is the door to all of it. So:

* the socket's directory must be ours and closed to everyone else, or it is
  refused: a directory someone else made (say a predictable one under /tmp)
  could already hold their own Redis, which would then receive our writes;
* the data directory is made 0700 and its files 0600 (directories 0700), with a
  warning naming what was open, because a directory made by hand under a
  0022 umask leaves the append-only file readable by every local user.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat

from .redis_binary import EmbeddedRedisError

log = logging.getLogger("memory_api.store.embedded")

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
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
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


def make_data_dir_private(path: str) -> list[str]:
    """Create the data directory 0700 if missing, and close what is open in it.

    The directory and every directory below it become 0700, every other entry
    (append-only files, log, locks, socket) 0600. Returns the paths that were
    changed, each with its old mode, after logging a warning that names them.
    """
    os.makedirs(path, mode=0o700, exist_ok=True)
    fixed: list[str] = []
    for root, dirs, files in os.walk(path):
        entries = [(root, 0o700)] if root == path else []
        entries += [(os.path.join(root, d), 0o700) for d in dirs]
        entries += [(os.path.join(root, f), 0o600) for f in files]
        for entry, wanted in entries:
            info = os.lstat(entry)
            if stat.S_ISLNK(info.st_mode) or not info.st_mode & _OPEN_BITS:
                continue
            try:
                os.chmod(entry, wanted)
            except PermissionError as exc:
                raise EmbeddedRedisError(
                    f"{entry} has mode {_describe(info.st_mode)}, readable by other users, and cannot be "
                    f"made private ({exc.strerror}); fix its owner or mode (chmod {oct(wanted)[2:]})"
                ) from None
            fixed.append(f"{entry} (was {_describe(info.st_mode)})")
    if fixed:
        log.warning(
            "the embedded Redis's data directory was open to other users; made it private "
            "(directories 0700, files 0600): %s", ", ".join(fixed),
        )
    return fixed
