"""The published key set: the public halves of the keys that sign certificates, by key id.

Anyone holding a certificate's `.json` and this key set can check the signature; the private key
is never needed to verify. A key signs from `valid_from` until `valid_until` (unset while it is
the signing key); a retired key keeps verifying what it signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

KEY_SET_FORMAT: Literal["hackefors-keys/1"] = "hackefors-keys/1"


def key_id_of(public_key: bytes) -> str:
    """A key's id: the first 16 hex digits of the SHA-256 of its raw 32 bytes."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def raw_public_key(encoded: str) -> bytes:
    """The 32 bytes of a base64 Ed25519 public key; ValueError when it is not one."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the public key is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key has 32 bytes, this one {len(raw)}")
    return raw


class PublicKey(BaseModel):
    """One signing key as published: its public half and when it signed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    public_key: str = Field(description="The raw Ed25519 public key (32 bytes), base64.")
    valid_from: datetime = Field(description="When the key began to sign certificates.")
    valid_until: datetime | None = Field(
        None, description="When the key stopped signing (rotated); unset while it is the signing key. "
                          "What it signed before keeps verifying.")

    @model_validator(mode="after")
    def _well_formed(self) -> PublicKey:
        raw_public_key(self.public_key)
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError(f"valid_until {self.valid_until} is before valid_from {self.valid_from}")
        return self


class KeySet(BaseModel):
    """The key set a store publishes (`hackefors keys export`, and the portal's well-known URL)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["hackefors-keys/1"] = KEY_SET_FORMAT
    algorithm: Literal["Ed25519"] = "Ed25519"
    issuer: str = Field(description="Where the issuer's portal is reached (HACKEFORS_PUBLIC_URL).")
    keys: dict[str, PublicKey] = Field(description="Key id -> public key.")

    @model_validator(mode="after")
    def _ids_match_keys(self) -> KeySet:
        for kid, key in self.keys.items():
            found = key_id_of(raw_public_key(key.public_key))
            if found != kid:
                raise ValueError(f"key {kid}: its public key has the id {found}")
        signing = [kid for kid, key in self.keys.items() if key.valid_until is None]
        if len(signing) > 1:
            raise ValueError(f"more than one signing key (no valid_until): {', '.join(signing)}")
        return self

    @property
    def signing_key_id(self) -> str | None:
        return next((kid for kid, key in self.keys.items() if key.valid_until is None), None)


class SigningKey(BaseModel):
    """A key of the store's register of signing keys (public half only)."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    public_key: str
    valid_from: datetime
    valid_until: datetime | None = None


def key_set(keys: list[SigningKey], issuer: str) -> KeySet:
    """The published form of the store's keys, oldest first."""
    return KeySet(issuer=issuer, keys={
        k.key_id: PublicKey(public_key=k.public_key, valid_from=k.valid_from, valid_until=k.valid_until)
        for k in sorted(keys, key=lambda k: k.valid_from)})
