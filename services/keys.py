"""Use cases of the signing keys: the key that signs, the published key set, rotation.

The store's register holds each key's public half and when it signed; the private key of the
signing key is a file (adapters/signing.py). Verifying needs only the register or the key set made
from it, never a private key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel

from adapters import signing
from adapters.settings import get_settings
from models.errors import ConcurrentChange
from models.events import HistoryEntry
from models.keys import KeySet, SigningKey, key_set
from services.unit_of_work import AbstractUnitOfWork


def _active(keys: list[SigningKey]) -> str | None:
    return next((k.key_id for k in keys if k.valid_until is None), None)


def _register(uow: AbstractUnitOfWork, key: Ed25519PrivateKey) -> SigningKey:
    """Record the public half of a key that is not in the register yet (the store's first key, or
    the key of a store that signed before the register existed: from its first certificate)."""
    kid = signing.key_id(key.public_key())
    entry = SigningKey(key_id=kid, public_key=signing.public_key_text(key),
                       valid_from=uow.keys.first_signed(kid) or datetime.now(UTC))
    uow.keys.add(entry)
    return entry


def current_signing_key(uow: AbstractUnitOfWork) -> Ed25519PrivateKey:
    """The key that signs now, recorded in the register; raises SigningKeyLost when its private
    file is missing or holds another key. Call inside `with uow:`; the caller commits."""
    active = _active(uow.keys.all())
    key = signing.signing_key(uow.certificates.key_ids(), active)
    if active is None:
        _register(uow, key)
    return key


def sign_payload(uow: AbstractUnitOfWork, payload: dict[str, Any]) -> tuple[str, str]:
    """The payload's signature by the current key, and that key's id. Call inside `with uow:`."""
    key = current_signing_key(uow)
    return signing.sign_with(key, payload), signing.key_id(key.public_key())


def published_keys(uow: AbstractUnitOfWork) -> KeySet:
    """The key set to publish: every key that signed, with its dates.

    A store that has no key yet makes its first one, so that the set can be published before the
    first certificate; otherwise no private key is read."""
    with uow:
        keys = uow.keys.all()
        if not keys:
            current_signing_key(uow)
            uow.commit()
            keys = uow.keys.all()
    return key_set(keys, get_settings().public_url)


def known_keys(uow: AbstractUnitOfWork) -> KeySet | None:
    """The store's own key set (None when it has signed nothing), without touching a private key.
    Call inside `with uow:`."""
    keys = uow.keys.all()
    return key_set(keys, get_settings().public_url) if keys else None


class Rotation(BaseModel):
    retired: str | None  # the key that signs no more
    new: str


def rotate_key(uow: AbstractUnitOfWork, actor: str) -> Rotation:
    """Make a new signing key. The old one stops signing (its private key is replaced); what it
    signed keeps verifying, its public half staying in the key set with the date it stopped.

    Also the way out when the private key is lost for good, provided its public half is in the
    register. The new key is written beside the old, recorded, and only then put in its place; a
    process that stops in between leaves it to be put there by the next one that signs.
    """
    with uow:
        keys = uow.keys.all()
        old = _active(keys)
        if old is None and uow.certificates.key_ids():
            # Signed before the register existed: record the key (it must be there) before it goes.
            old = _register(uow, signing.signing_key(uow.certificates.key_ids())).key_id
        now = datetime.now(UTC)
        new = signing.new_pending_key()
        new_id = signing.key_id(new.public_key())
        try:
            if old is not None and not uow.keys.retire(old, now):
                raise ConcurrentChange(f"key {old} was rotated by another process at the same time")
            uow.keys.add(SigningKey(key_id=new_id, public_key=signing.public_key_text(new), valid_from=now))
            uow.history.add([HistoryEntry(
                at=now, actor=actor, network_id=network_id, entity="signing_keys", entity_id=new_id,
                action="insert", detail={"retired": old, "valid_from": now.isoformat()})
                for network_id in uow.networks.ids()])
            uow.commit()
        except BaseException:
            signing.discard_pending_key(new_id)
            raise
    signing.install_pending_key(new_id)
    return Rotation(retired=old, new=new_id)
