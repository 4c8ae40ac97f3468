"""API keys: random, shown once, stored as a hash, each with a role.

A key reads ``voces_<id>_<secret>``. The id finds the row; the secret is compared with
``hmac.compare_digest`` against its SHA-256. The secret holds 256 random bits, so a fast
hash is enough: there is nothing to brute-force that a slow hash would protect.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets

from .access import Viewer, require
from .db import AnyDatabase, now
from .errors import CorpusError, NotFoundError
from .records import ApiKey

__all__ = ["KEY_ROLES", "KeyRing"]

KEY_ROLES = ("researcher", "archivist", "admin")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyRing:
    def __init__(self, db: AnyDatabase) -> None:
        self.db = db

    def create(self, role: str, name: str, viewer: Viewer) -> tuple[ApiKey, str]:
        """A new key; returns its record and the full key (the only time it is seen)."""
        require(viewer, "create key")
        if role not in KEY_ROLES:
            raise CorpusError(f"role {role!r} is not one of {', '.join(KEY_ROLES)}")
        name = name.strip()
        if not name or len(name) > 200:
            raise CorpusError("a key needs a name (who holds it), at most 200 characters")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = ApiKey(key_id, name, role, now(), viewer.name, None)
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO api_keys (id, name, role, secret_hash, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, name, role, _hash(secret), record.created_at, record.created_by),
            )
            db.execute(
                "INSERT INTO audit (at, actor, role, action, target, detail) "
                "VALUES (?, ?, ?, 'key.create', ?, ?)",
                (now(), viewer.name, viewer.role, key_id, f"{role} for {name}"),
            )
        return record, f"voces_{key_id}_{secret}"

    def list(self, viewer: Viewer) -> builtins.list[ApiKey]:
        require(viewer, "list keys")
        rows = self.db.query(
            "SELECT id, name, role, created_at, created_by, revoked_at FROM api_keys "
            "ORDER BY created_at, id"
        )
        return [ApiKey(**dict(r)) for r in rows]

    def revoke(self, key_id: str, viewer: Viewer) -> None:
        require(viewer, "revoke key")
        with self.db.transaction() as db:
            done = db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now(), key_id),
            ).rowcount
            if not done:
                raise NotFoundError(f"no active key {key_id!r}")
            db.execute(
                "INSERT INTO audit (at, actor, role, action, target, detail) "
                "VALUES (?, ?, ?, 'key.revoke', ?, '')",
                (now(), viewer.name, viewer.role, key_id),
            )

    def viewer(self, key: str) -> Viewer | None:
        """The viewer a presented key stands for, or None if it is not a valid key."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "voces" or not parts[1] or len(key) > 200:
            return None
        rows = self.db.query(
            "SELECT name, role, secret_hash FROM api_keys WHERE id = ? AND revoked_at IS NULL",
            (parts[1],),
        )
        if not rows or not hmac.compare_digest(rows[0]["secret_hash"], _hash(parts[2])):
            return None
        return Viewer(rows[0]["role"], f"key:{parts[1]}:{rows[0]['name']}")

    def viewer_by_id(self, key_id: str) -> Viewer | None:
        """The viewer of an active key, by its public id (for links the server signed
        for that key: revoking the key ends them too)."""
        rows = self.db.query(
            "SELECT name, role FROM api_keys WHERE id = ? AND revoked_at IS NULL", (key_id,)
        )
        if not rows:
            return None
        return Viewer(rows[0]["role"], f"key:{key_id}:{rows[0]['name']}")
