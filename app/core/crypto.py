"""Personal data encrypted at rest (AES-256-GCM) and blind indexes (HMAC-SHA256) for look-ups.

Keys never live in the database (nor in its backups):

- Data keys: config DATA_KEYS (env JIEFEN_DATA_KEYS, ``kid:base64-32-bytes[,kid:...]``) or the key file
  DATA_KEY_FILE (env JIEFEN_DATA_KEY_FILE, default ``<instance>/data.key``, one ``kid:base64`` per line). The
  first key encrypts; every key decrypts, so rotation is: put the new key first, keep the old ones after it.
  Development and tests create ``<instance>/data.key`` (mode 0600) on first use; production refuses to start
  without an explicit key (ProdConfig.check).
- Blind-index key: its own setting, so that rotating the encryption key never changes a blind index. Config
  BLIND_INDEX_KEY (env JIEFEN_BLIND_INDEX_KEY, ``kid:base64-32-bytes``); without it, the key is derived (HKDF,
  its own info label) from the data key named by BLIND_INDEX_KEY_ID (env JIEFEN_BLIND_INDEX_KEY_ID), by default
  the LAST key of the ring: the oldest, which stays put when new keys are put in front. That key must then stay
  in the ring even after it no longer encrypts anything.

Token format: ``v1.<kid>.<base64url(nonce || ciphertext+tag)>``, ASCII; the purpose (``"table.column"``) is the
associated data, so a ciphertext moved to another column no longer decrypts.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, has_app_context

TOKEN_VERSION = "v1"  # noqa: S105 (a format tag, not a secret)
NONCE_BYTES = 12
KEY_BYTES = 32
BLIND_INDEX_KINDS = ("id_number", "phone")
_KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class KeyConfigError(RuntimeError):
    """The data keys are missing or malformed."""


class DecryptionError(ValueError):
    """A token could not be decrypted: unknown key id, wrong purpose, or tampered with."""


@dataclass(frozen=True)
class Keyring:
    """Data keys in order (the first encrypts) and the blind-index key with its id."""

    keys: tuple[tuple[str, bytes], ...] = field(repr=False)
    blind_index_kid: str
    blind_index_key: bytes = field(repr=False)

    def __repr__(self) -> str:  # never the key material (tracebacks, logs)
        return f"<Keyring encrypts with {self.current_kid!r}, {len(self.keys)} key(s), blind index {self.blind_index_kid!r}>"

    @property
    def current_kid(self) -> str:
        return self.keys[0][0]

    def key(self, kid: str) -> bytes | None:
        return next((material for k, material in self.keys if k == kid), None)


def parse_keys(spec: str) -> tuple[tuple[str, bytes], ...]:
    """Parse ``kid:base64[,kid:base64...]`` (commas or new lines) into (kid, 32 bytes) pairs."""
    entries = [part.strip() for part in re.split(r"[,\n]", spec or "") if part.strip() and not part.startswith("#")]
    keys: list[tuple[str, bytes]] = []
    for entry in entries:
        kid, sep, b64 = entry.partition(":")
        kid = kid.strip()
        if not sep or not _KID_RE.match(kid):
            raise KeyConfigError(f"Data key entry {kid or '?'!r}: expected 'kid:base64' with kid of [A-Za-z0-9_-].")
        b64 = b64.strip().replace("-", "+").replace("_", "/")  # standard or URL-safe alphabet
        try:
            material = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise KeyConfigError(f"Data key {kid!r}: not valid base64.") from None
        if len(material) != KEY_BYTES:
            raise KeyConfigError(f"Data key {kid!r}: must be {KEY_BYTES} bytes, got {len(material)}.")
        if any(k == kid for k, _ in keys):
            raise KeyConfigError(f"Data key id {kid!r} appears twice.")
        keys.append((kid, material))
    return tuple(keys)


def new_key_line(kid: str = "k1") -> str:
    """A fresh ``kid:base64`` entry (for key files and JIEFEN_DATA_KEYS)."""
    return f"{kid}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def load_or_create_key_file(path: Path) -> str:
    """Read the key file, creating it (mode 0600, one new key) when missing: development and tests only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path.read_text()
    with os.fdopen(fd, "w") as fh:
        fh.write(new_key_line("k1") + "\n")
    return path.read_text()


def _derive_blind_index_key(material: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=b"jiefen-blind-index",
                info=b"jiefen blind index v1").derive(material)


def build_keyring(config: dict, instance_dir: Path | None = None, create: bool = False) -> Keyring:
    """The keyring from a config mapping (DATA_KEYS, DATA_KEY_FILE, BLIND_INDEX_KEY, BLIND_INDEX_KEY_ID)."""
    spec = config.get("DATA_KEYS") or ""
    if not spec.strip():
        file_setting = config.get("DATA_KEY_FILE")
        path = Path(file_setting) if file_setting else Path(instance_dir or ".") / "data.key"
        if path.exists():
            spec = path.read_text()
        elif create:
            spec = load_or_create_key_file(path)
        else:
            raise KeyConfigError(f"No data key: set JIEFEN_DATA_KEYS or create the key file {path}.")
    keys = parse_keys(spec)
    if not keys:
        raise KeyConfigError("No data key: JIEFEN_DATA_KEYS / the key file holds no 'kid:base64' entry.")
    explicit = parse_keys(config.get("BLIND_INDEX_KEY") or "")
    if explicit:
        bid, bkey = explicit[0]
        return Keyring(keys, bid, bkey)
    source_kid = config.get("BLIND_INDEX_KEY_ID") or keys[-1][0]
    source = next((m for k, m in keys if k == source_kid), None)
    if source is None:
        raise KeyConfigError(f"BLIND_INDEX_KEY_ID {source_kid!r} names no data key in the ring.")
    return Keyring(keys, f"hkdf-{source_kid}", _derive_blind_index_key(source))


_lock = threading.Lock()
_env_ring: tuple[tuple, Keyring] | None = None


def keyring() -> Keyring:
    """The keyring of the current app (cached on it), or from the environment outside an app context."""
    global _env_ring
    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        ring = app.extensions.get("jiefen_keyring")
        if ring is None:
            with _lock:
                ring = app.extensions.get("jiefen_keyring")
                if ring is None:
                    create = app.config.get("ENV_NAME") != "production"
                    ring = build_keyring(app.config, Path(app.instance_path), create=create)
                    app.extensions["jiefen_keyring"] = ring
        return ring
    # Outside an app context (a bare Session, a script): the environment as it is now, like create_app reads it.
    from app.config import PROJECT_ROOT

    settings = {name: os.environ.get(f"JIEFEN_{name}") or None for name in
                ("DATA_KEYS", "DATA_KEY_FILE", "BLIND_INDEX_KEY", "BLIND_INDEX_KEY_ID")}
    instance_dir = Path(os.environ.get("JIEFEN_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    key = (tuple(settings.items()), str(instance_dir))
    if _env_ring is None or _env_ring[0] != key:
        _env_ring = (key, build_keyring(settings, instance_dir, create=False))
    return _env_ring[1]


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt(plaintext: str, purpose: str, ring: Keyring | None = None) -> str:
    """AES-256-GCM with a random 96-bit nonce and the purpose as associated data: ``v1.<kid>.<base64url>``."""
    ring = ring or keyring()
    kid, material = ring.keys[0]
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(material).encrypt(nonce, plaintext.encode("utf-8"), purpose.encode("utf-8"))
    return f"{TOKEN_VERSION}.{kid}.{_b64e(nonce + sealed)}"


def decrypt(token: str, purpose: str, ring: Keyring | None = None) -> str:
    """The plaintext of a token; DecryptionError (naming the key id) when it cannot be decrypted."""
    ring = ring or keyring()
    version, _, rest = (token or "").partition(".")
    kid, _, body = rest.partition(".")
    if version != TOKEN_VERSION or not kid or not body:
        raise DecryptionError(f"Not an encrypted value of format {TOKEN_VERSION} (purpose {purpose}).")
    material = ring.key(kid)
    if material is None:
        raise DecryptionError(f"Unknown data key id {kid!r} (purpose {purpose}): is it missing from the keyring?")
    try:
        raw = _b64d(body)
        plain = AESGCM(material).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode("utf-8"))
    except (InvalidTag, ValueError, binascii.Error):
        raise DecryptionError(
            f"Value encrypted with key {kid!r} does not decrypt for purpose {purpose}: tampered with or moved."
        ) from None
    return plain.decode("utf-8")


def key_id_of(token: str) -> str | None:
    """The key id a token was encrypted with (None for anything else)."""
    parts = (token or "").split(".")
    return parts[1] if len(parts) == 3 and parts[0] == TOKEN_VERSION else None


def normalise_id_number(value: str) -> str:
    """NFKC, no whitespace or punctuation, upper case (ID card numbers and unified social credit codes)."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch)[0] in "PSZC")).upper()


def normalise_phone(value: str) -> str:
    """Digits only, without a leading +86 / 86 country code."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", value or "") if ch.isdigit())
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


_NORMALISERS = {"id_number": normalise_id_number, "phone": normalise_phone}


def blind_index(kind: str, value: str, ring: Keyring | None = None) -> str:
    """Hex HMAC-SHA256 of the normalised value under the blind-index key (stable across data-key rotation)."""
    if kind not in _NORMALISERS:
        raise ValueError(f"Unknown blind index kind {kind!r}: one of {', '.join(BLIND_INDEX_KINDS)}.")
    ring = ring or keyring()
    message = f"{kind}:{_NORMALISERS[kind](value)}".encode()
    return hmac.new(ring.blind_index_key, message, hashlib.sha256).hexdigest()


def blind_index_or_none(kind: str, value: str | None) -> str | None:
    """blind_index() for a value that may be empty (None then: nothing to look up)."""
    if not value or not _NORMALISERS[kind](value):
        return None
    return blind_index(kind, value)


class EncryptedString(sa.types.TypeDecorator):
    """A String(255) column holding ``encrypt(value, purpose)``; Python sees the plaintext."""

    impl = sa.String(255)
    cache_ok = True

    def __init__(self, purpose: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        return encrypt(str(value), self.purpose)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        return decrypt(value, self.purpose)


class EncryptedRecipient(EncryptedString):
    """A recipient column holding either a user id (kept in the clear: in-app messages are looked up by it) or a
    phone number / e-mail address (encrypted). Values that are no token (e.g. a purge's placeholder written with
    plain SQL) read back as they are."""

    cache_ok = True

    @staticmethod
    def is_user_id(value: str) -> bool:
        return value.isdigit() and len(value) <= 10  # a mobile number has 11 digits

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        if value is None or self.is_user_id(str(value)):
            return value
        return encrypt(str(value), self.purpose)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        if value is None or not value.startswith(f"{TOKEN_VERSION}."):
            return value
        return decrypt(value, self.purpose)
