"""Files that hold people's names and email addresses: readable by their owner only."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def make_private(path: Path, own_folder: bool) -> None:
    """The folder 0700 (when this creates it, or it is the data's `own_folder`) and the file 0600,
    created empty when missing (an empty file is a new SQLite database) and tightened when an earlier
    version made it 0644. SQLite gives a database's -wal and -shm files the database's mode."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        os.chmod(folder, 0o700)  # whatever the umask
    elif own_folder:
        with contextlib.suppress(PermissionError):  # a folder someone else owns stays theirs
            os.chmod(folder, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    with contextlib.suppress(PermissionError):
        os.chmod(path, 0o600)
