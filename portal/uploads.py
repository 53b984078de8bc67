"""Spreadsheets between their preview and their commit: kept under the data folder, named by a
random token, with who uploaded them for which company, so that the commit imports exactly what was
previewed, once, and only for the person and company that previewed it."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from pydantic import BaseModel

from adapters.private_files import private_folder

# A preview not committed within this time is forgotten.
KEEP_SECONDS = 3600


class Pending(BaseModel):
    token: str
    email: str
    network_id: str
    company_id: str
    kind: str
    filename: str


def _folder(data_dir: Path) -> Path:
    folder = Path(data_dir) / "portal-uploads"
    return private_folder(folder, tighten=True)


def keep(data_dir: Path, pending: Pending, content: bytes) -> None:
    folder = _folder(data_dir)
    now = time.time()
    for old in folder.iterdir():  # forget what nobody committed
        if now - old.stat().st_mtime > KEEP_SECONDS:
            old.unlink(missing_ok=True)
    for suffix, data in ((".bin", content), (".json", pending.model_dump_json().encode())):
        handle = os.open(folder / f"{pending.token}{suffix}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(data)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def take(data_dir: Path, token: str) -> tuple[Pending, bytes] | None:
    """The pending spreadsheet of `token` (still kept), or None."""
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        return None
    folder = _folder(data_dir)
    meta, data = folder / f"{token}.json", folder / f"{token}.bin"
    if not meta.exists() or not data.exists() or time.time() - meta.stat().st_mtime > KEEP_SECONDS:
        return None
    return Pending.model_validate(json.loads(meta.read_text(encoding="utf-8"))), data.read_bytes()


def forget(data_dir: Path, token: str) -> None:
    folder = _folder(data_dir)
    for suffix in (".bin", ".json"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)
