"""Ed25519 signatures of certificate data. The key lives outside the database, mode 0600.

A key is made only for a store that holds no signed certificate: a lost or replaced key is an
error that says what is missing, never a new key that would make every earlier certificate look
forged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.errors import ServiceError
from tasks.settings import get_settings

BACKUP_HINT = "restore it from your backup (README: \"Backing up the signing key\")"


class SigningKeyLost(ServiceError):
    """The store holds certificates signed by a key that is not where it should be."""


def key_path() -> Path:
    return get_settings().data_dir / "keys" / "certificate-signing.pem"


def canonical(payload: dict[str, Any]) -> bytes:
    """One byte string per payload: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _create(path: Path) -> Ed25519PrivateKey:
    """A new key at `path`, or the one another process put there first.

    The key is written whole to a private temporary file and then linked into place, which fails
    when the name exists: so the file is never seen half written, and of two processes that
    create the first key at once, both end up with the same one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".new-key-")  # mode 0600 from the start
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _load(path)
        return key
    finally:
        os.unlink(temporary)


def _missing(path: Path, known: Collection[str]) -> SigningKeyLost:
    return SigningKeyLost(
        f"the signing key is missing: {path} does not exist, but the store holds certificates signed "
        f"with key {', '.join(sorted(known))}. Nothing was signed: {BACKUP_HINT} and run the command "
        "again. A new key would make every one of those certificates fail verification.")


def _replaced(path: Path, found: str, known: Collection[str]) -> SigningKeyLost:
    return SigningKeyLost(
        f"the signing key at {path} (key {found}) is not the key that signed this store's certificates "
        f"(key {', '.join(sorted(known))}). Nothing was signed: {BACKUP_HINT}.")


def signing_key(known: Collection[str]) -> Ed25519PrivateKey:
    """This store's key; `known` are the ids of the keys its certificates were signed with.

    The key is made on first use, that is only when `known` is empty.
    """
    path = key_path()
    if not path.exists():
        if known:
            raise _missing(path, known)
        return _create(path)
    key = _load(path)
    found = key_id(key.public_key())
    if known and found not in known:
        raise _replaced(path, found, known)
    return key


def sign(payload: dict[str, Any], known: Collection[str]) -> tuple[str, str]:
    """The payload's signature (base64) and the signing key's id."""
    key = signing_key(known)
    return base64.b64encode(key.sign(canonical(payload))).decode(), key_id(key.public_key())


def verify(payload: dict[str, Any], signature: str, expected_key_id: str | None,
           known: Collection[str]) -> str | None:
    """None when `signature` is this store's key's signature of `payload`; else what is wrong with
    the document. Raises SigningKeyLost when the document names a key the store's certificates
    were signed with but that key is not here: that says nothing about the document."""
    path = key_path()
    if not path.exists():
        if known:
            raise _missing(path, known)
        return f"this store has issued no certificate (no signing key at {path})"
    public = _load(path).public_key()
    found = key_id(public)
    if expected_key_id and expected_key_id != found:
        if expected_key_id in known:
            raise _replaced(path, found, known)
        return f"signed with key {expected_key_id}, not this store's key {found}"
    try:
        public.verify(base64.b64decode(signature, validate=True), canonical(payload))
    except (InvalidSignature, ValueError):
        return "the signature does not match the certificate's data: it was altered or forged"
    return None
