"""Evidence files on disk: each stored once, named by its sha256, under the data folder, private."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from adapters.private_files import private_folder


class BlobStore:
    """Content-addressed files: `<root>/<first two hex digits>/<sha256>`, 0600 in 0700 folders.

    A file is written whole (to a temporary name, then renamed) before the record that names it
    commits; a file whose record never committed is invisible and harmless, and storing the same
    content again writes nothing.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, content: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        for folder in (self.root, target.parent):
            private_folder(folder, tighten=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, sha256: str) -> bytes | None:
        target = self.path(sha256)
        return target.read_bytes() if target.exists() else None


def evidence_store() -> BlobStore:
    """The configured store's evidence folder: `<HACKEFORS_DATA_DIR>/evidence`."""
    from adapters.settings import get_settings

    return BlobStore(get_settings().data_dir / "evidence")
