"""Writing the files a user names: whole or not at all, and never over a device.

A report, a backup and an errors file are written beside their target and moved into place,
or removed when the write is taken back, so a failure leaves no half file. Both moves are
wrong for a target that is not a regular file: `os.replace` over `/dev/null` or `/dev/stdout`
puts a regular file where the device was (run as root, as in a container, it replaced the
machine's `/dev/null`, and every later `> /dev/null` wrote to disk), and removing a taken-back
errors file named `/dev/null` removed the device. A FIFO would likewise lose its reader. So a
target that exists and is not a regular file (a device, a FIFO, a socket) is written in place,
and is never replaced or removed.
"""

from __future__ import annotations

import stat
from pathlib import Path


def is_special(path: Path) -> bool:
    """Whether `path` exists and is not a regular file or a folder: a device such as
    `/dev/null` or `/dev/stdout`, a FIFO, a socket (symbolic links followed)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def write_whole(path: Path, data: bytes) -> None:
    """Write `data` to `path`: beside it and moved into place, so a reader never sees half of
    it; a special target (`is_special`) is written in place (OSError on failure either way;
    the partial file is removed)."""
    if is_special(path):
        with path.open("wb") as target:
            target.write(data)
        return
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def remove_if_regular(path: Path) -> None:
    """Remove the file at `path` unless it is special (`is_special`): taking back a file this
    process wrote must not take away a device the user named as its target."""
    if not is_special(path):
        path.unlink(missing_ok=True)
