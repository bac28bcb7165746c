"""Content-addressed file storage under FILES_DIR; a small interface an object store can replace."""
from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from pathlib import Path


class FileStorage:
    """Stores bytes under root/ab/cdef... by their SHA-256 or a random name; never under static/."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a 64-character hex key")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> str:
        """Store data (idempotent) and return its SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        if not self._path(digest).exists():
            self._write(digest, data)
        return digest

    def put_random(self, data: bytes) -> str:
        """Store data under a new random name (64 hex characters) and return the name."""
        key = secrets.token_hex(32)
        self._write(key, data)
        return key

    def _write(self, key: str, data: bytes) -> None:
        """Write atomically: a temporary file in the same folder, then rename."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)

    def open(self, key: str):
        """Open a stored file by its key (a SHA-256 or a random name)."""
        return self._path(key).open("rb")

    def delete(self, key: str) -> bool:
        """Remove a stored file (retention); False when it was already gone."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()


def storage() -> FileStorage:
    """The storage of the running app."""
    from flask import current_app

    return FileStorage(current_app.config["FILES_DIR"])
