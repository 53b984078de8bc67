"""Files that hold secrets (sign-in links, keys), people's names and email addresses: readable by
their owner only. Every folder the project makes is 0700 and every file it writes there 0600,
whatever the umask: `private_folder`, `write_private`, `open_private_log`, `make_private`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

FOLDER_MODE, FILE_MODE = 0o700, 0o600


def private_folder(folder: Path, tighten: bool = False) -> Path:
    """`folder`, with it and every folder above it that is missing made owner-only (0700); one that
    exists is left as it is unless `tighten` (a folder of the project's own that an earlier version
    made 0755), and a folder someone else owns stays theirs."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it a moment ago
            made.mkdir(mode=FOLDER_MODE)
        with contextlib.suppress(PermissionError):
            os.chmod(made, FOLDER_MODE)
    if tighten and not missing:
        with contextlib.suppress(PermissionError):
            os.chmod(folder, FOLDER_MODE)
    return folder


def write_private(path: Path, content: bytes, tighten: bool = False) -> Path:
    """Write `content` to `path` owner-only (0600) and whole: written under another name in the same
    folder, then put in place in one step, so a reader sees the old file or the new, never half.
    The folder is made private when missing (see `private_folder`)."""
    private_folder(path.parent, tighten)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600 from the start
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def open_private_log(path: Path) -> BinaryIO:
    """`path` opened for appending, created owner-only (0600) in a private folder when missing, and
    tightened when an earlier version made it 0644."""
    private_folder(path.parent)
    handle = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, FILE_MODE)
    with contextlib.suppress(PermissionError):
        os.fchmod(handle, FILE_MODE)
    return os.fdopen(handle, "ab")


def make_private(path: Path, own_folder: bool) -> None:
    """The folder 0700 (when this creates it, or it is the data's `own_folder`) and the file 0600,
    created empty when missing (an empty file is a new SQLite database) and tightened when an earlier
    version made it 0644. SQLite gives a database's -wal and -shm files the database's mode."""
    private_folder(path.parent, tighten=own_folder)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE))
    with contextlib.suppress(PermissionError):
        os.chmod(path, FILE_MODE)
