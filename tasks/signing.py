"""Ed25519 signatures of certificate data. The key lives outside the database, mode 0600."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tasks.settings import get_settings


def key_path() -> Path:
    return get_settings().data_dir / "keys" / "certificate-signing.pem"


def canonical(payload: dict[str, Any]) -> bytes:
    """One byte string per payload: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _load_or_create(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # Create with 0600 from the start: never a moment when others could read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(payload: dict[str, Any]) -> tuple[str, str]:
    """The payload's signature (base64) and the signing key's id; the key is made on first use."""
    key = _load_or_create(key_path())
    return base64.b64encode(key.sign(canonical(payload))).decode(), key_id(key.public_key())


def verify(payload: dict[str, Any], signature: str, expected_key_id: str | None = None) -> str | None:
    """None when `signature` is this store's key's signature of `payload`; else what is wrong."""
    path = key_path()
    if not path.exists():
        return f"no signing key at {path}: this store has issued no certificate"
    public = _load_or_create(path).public_key()
    if expected_key_id and expected_key_id != key_id(public):
        return f"signed with key {expected_key_id}, not this store's key {key_id(public)}"
    try:
        public.verify(base64.b64decode(signature, validate=True), canonical(payload))
    except (InvalidSignature, ValueError):
        return "the signature does not match the certificate's data: it was altered or forged"
    return None
