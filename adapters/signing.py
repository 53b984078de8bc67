"""Ed25519 signatures of certificate data. The private key lives outside the database, mode 0600;
its public half is in the store's register of keys and in the published key set, which is all a
verifier needs.

A key is made only for a store that holds no signed certificate, or by `hackefors keys rotate`: a
lost or replaced key is an error that says what is missing, never a new key made behind the
operator's back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import urllib.request
from collections.abc import Collection
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters.private_files import private_folder
from adapters.settings import get_settings
from models.errors import ServiceError
from models.keys import KeySet

BACKUP_HINT = "restore it from your backup (README: \"Keys: publishing, backing up, rotating\")"


class SigningKeyLost(ServiceError):
    """The store holds certificates signed by a key that is not where it should be."""


def key_path() -> Path:
    return get_settings().data_dir / "keys" / "certificate-signing.pem"


def pending_path(new_key_id: str) -> Path:
    """Where `keys rotate` puts a new key until the store has recorded it."""
    return key_path().with_name(f"certificate-signing.{new_key_id}.next.pem")


def cached_key_set_path() -> Path:
    """The key set kept from the last `keys export` or `certificate verify --keys`."""
    return get_settings().data_dir / "keys" / "hackefors-keys.json"


def canonical(payload: dict[str, Any]) -> bytes:
    """One byte string per payload: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The key's public half, as the key set publishes it: raw 32 bytes, base64."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _write_temporary(folder: Path, key: Ed25519PrivateKey) -> str:
    """`key` written whole to a new private file in `folder` (mode 0600 from the start)."""
    private_folder(folder, tighten=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".new-key-")
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    return temporary


def _create(path: Path) -> Ed25519PrivateKey:
    """A new key at `path`, or the one another process put there first.

    The key is written whole to a private temporary file and then linked into place, which fails
    when the name exists: so the file is never seen half written, and of two processes that
    create the first key at once, both end up with the same one.
    """
    key = Ed25519PrivateKey.generate()
    temporary = _write_temporary(path.parent, key)
    try:
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _load(path)
        return key
    finally:
        os.unlink(temporary)


ROTATE_HINT = ("or, when the key is lost for good, `hackefors keys rotate` makes a new one: the "
               "certificates already issued keep verifying with the published public key")


def _missing(path: Path, known: Collection[str], registered: bool) -> SigningKeyLost:
    hint = f"{BACKUP_HINT}, {ROTATE_HINT}" if registered else BACKUP_HINT
    return SigningKeyLost(
        f"the signing key is missing: {path} does not exist, but the store holds certificates signed "
        f"with key {', '.join(sorted(known))}. Nothing was signed: {hint}, and run the command "
        "again. A new key made silently would make every one of those certificates fail verification.")


def _replaced(path: Path, found: str, known: Collection[str]) -> SigningKeyLost:
    return SigningKeyLost(
        f"the signing key at {path} (key {found}) is not the key that signed this store's certificates "
        f"(key {', '.join(sorted(known))}). Nothing was signed: {BACKUP_HINT}.")


def _finish_rotation(path: Path, active: str | None) -> None:
    """Put a rotated key in place when the store recorded it but the process that made it stopped
    before moving it there."""
    if active and pending_path(active).exists():
        os.replace(pending_path(active), path)


def signing_key(known: Collection[str], active: str | None = None) -> Ed25519PrivateKey:
    """This store's key. `known` are the ids of the keys its certificates were signed with, `active`
    the id of the signing key in its register of keys (None while the register is empty).

    The key is made on first use, that is only when neither is known.
    """
    path = key_path()
    _finish_rotation(path, active)
    expected = {active} if active else set(known)
    if not path.exists():
        if expected:
            raise _missing(path, expected, registered=active is not None)
        return _create(path)
    key = _load(path)
    found = key_id(key.public_key())
    if expected and found not in expected:
        raise _replaced(path, found, expected)
    return key


def sign_with(key: Ed25519PrivateKey, payload: dict[str, Any]) -> str:
    """The payload's signature, base64."""
    return base64.b64encode(key.sign(canonical(payload))).decode()


def new_pending_key() -> Ed25519PrivateKey:
    """A new key for `keys rotate`, written beside the signing key until the store records it."""
    key = Ed25519PrivateKey.generate()
    os.replace(_write_temporary(key_path().parent, key), pending_path(key_id(key.public_key())))
    return key


def install_pending_key(new_key_id: str) -> None:
    """Make the recorded new key the signing key; the old private key is gone, so it signs no more."""
    os.replace(pending_path(new_key_id), key_path())


def discard_pending_key(new_key_id: str) -> None:
    pending_path(new_key_id).unlink(missing_ok=True)


def signature_matches(public_key: str, payload: dict[str, Any], signature: str) -> bool:
    """Whether `signature` (base64) is the signature of `payload` by the key `public_key` (base64)."""
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    try:
        public.verify(base64.b64decode(signature, validate=True), canonical(payload))
    except (InvalidSignature, ValueError):
        return False
    return True


class KeySetUnreadable(ServiceError):
    """A key set given to verify with cannot be read: the message says where and why."""


URL_TIMEOUT_SECONDS = 10
MAX_KEY_SET_BYTES = 1_000_000


def read_key_set(source: str) -> KeySet:
    """A key set from a file or an http(s) URL."""
    try:
        if source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=URL_TIMEOUT_SECONDS) as answer:  # noqa: S310
                text = answer.read(MAX_KEY_SET_BYTES + 1)
        else:
            text = Path(source).read_bytes()[:MAX_KEY_SET_BYTES + 1]
    except OSError as exc:
        raise KeySetUnreadable(f"key set {source}: cannot be read ({exc})") from None
    if len(text) > MAX_KEY_SET_BYTES:
        raise KeySetUnreadable(f"key set {source}: larger than {MAX_KEY_SET_BYTES} bytes")
    try:
        return KeySet.model_validate_json(text)
    except ValueError as exc:
        first = "; ".join(str(exc).splitlines()[:3])
        raise KeySetUnreadable(f"key set {source}: not a hackefors key set ({first})") from None


def key_set_text(keys: KeySet) -> str:
    return keys.model_dump_json(indent=2) + "\n"


def cache_key_set(keys: KeySet) -> Path:
    """Keep `keys` for verifications that name no key set."""
    path = cached_key_set_path()
    private_folder(path.parent, tighten=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key_set_text(keys))
    os.replace(temporary, path)
    return path


def cached_key_set() -> KeySet | None:
    path = cached_key_set_path()
    return read_key_set(str(path)) if path.exists() else None
