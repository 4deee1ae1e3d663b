"""Secrets the hub must read back (the HMAC keys of connected systems), encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a master key that is never in the
database: `AXIS_SECRET_KEY` (one or more Fernet keys, comma-separated, the first encrypts; the
others still decrypt, for rotating the master key), or the file `AXIS_SECRET_KEY_FILE`. The
embedded default generates `<data dir>/secret.key` (mode 0600) on first use. A leaked database
alone therefore lets no one sign requests as a system.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(RuntimeError):
    """The master key is missing, malformed, or not the one the secrets were encrypted with."""


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretBoxError("no master key for the systems' secrets")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError as exc:
            raise SecretBoxError(f"a master key is not a Fernet key: {exc}") from exc

    @classmethod
    def from_config(cls, key: str | None, key_file: Path | None, data_dir: Path) -> SecretBox:
        if key:
            return cls([k.strip().encode() for k in key.split(",") if k.strip()])
        path = key_file or data_dir / "secret.key"
        if not path.exists():
            if key_file is not None:
                raise SecretBoxError(f"AXIS_SECRET_KEY_FILE {path} does not exist")
            _create_key_file(path)
        text = path.read_text().strip()
        return cls([k.strip().encode() for k in text.replace(",", "\n").split() if k.strip()])

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise SecretBoxError(
                "a system's secret does not decrypt with this hub's master key "
                "(AXIS_SECRET_KEY / AXIS_SECRET_KEY_FILE changed?)"
            ) from exc


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: of two processes starting at once, one writes and the other reads it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key() + b"\n")
        f.flush()
        os.fsync(f.fileno())
