"""Files that hold customer data (the database, its -wal and -shm, rejects files, exports):
created with modes of our choosing, whatever the umask. Standard library only, so that what
writes such a file needs nothing else.

The owner's alone, or with `share_group` also their group's. A shared folder is setgid, so
that what anyone of the team creates in it (the -wal, -shm, rejects files) takes the folder's
group, not the creator's own primary group that the others are not in.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path
from typing import TextIO

PRIVATE_MODES = (0o600, 0o700)  # (file, folder)
GROUP_MODES = (0o660, 0o2770)


def modes(*, share_group: bool) -> tuple[int, int]:
    """(file mode, folder mode) for customer data under these settings."""
    return GROUP_MODES if share_group else PRIVATE_MODES


def make_folders(folder: Path, mode: int) -> None:
    """`mkdir -p`: `folder` itself gets `mode`, any parent it has to make 0700. A parent such as
    ~/.local is the owner's business: made group-writable, a teammate could put a program in
    ~/.local/bin. Raises OSError."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for made in reversed(missing):
        try:
            os.mkdir(made, 0o700)  # never wider than asked while the umask still applies
        except FileExistsError:
            continue  # another process made it meanwhile: its mode is its own
        if made == missing[0]:
            os.chmod(made, mode)  # exactly the mode: the umask must not drop the group's bits


def make_file(path: Path, mode: int) -> None:
    """`path` made empty with `mode`, unless it exists (then it is left as it is). Raises
    OSError."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(handle, mode)
    finally:
        os.close(handle)


def open_new_text(path: Path, mode: int, encoding: str) -> TextIO:
    """`path` made anew for writing text, with `mode`: whatever was there is removed first,
    and a link planted in its place is never followed. Raises OSError."""
    path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    handle = os.open(path, flags, 0o600)
    try:
        os.fchmod(handle, mode)
        return open(handle, "w", encoding=encoding, newline="")
    except BaseException:
        os.close(handle)
        raise


def too_open(path: Path, *, share_group: bool) -> str | None:
    """One line if the database file (or its -wal, -shm) is open to more people than the
    settings allow: what it is and the `chmod` that fixes it. Modes are never changed here."""
    allowed = modes(share_group=share_group)[0]
    loose: list[tuple[Path, int]] = []
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077 & ~allowed:
            loose.append((candidate, mode))
    if not loose:
        return None
    wider = 0
    for _, mode in loose:
        wider |= mode
    who = "other users" if wider & 0o007 else "its group"
    files = " ".join(shlex.quote(str(candidate)) for candidate, _ in loose)
    return (
        f"warning: {path} holds customer data and {who} can open it"
        f" (mode {loose[0][1]:o}); to fix: chmod {allowed:o} {files}"
    )
