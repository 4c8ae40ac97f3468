"""The audit log: who did what to which testimony, and when.

Every write (ingest, upload, review, correction, consent change, delete, key created or
revoked) and every read that showed restricted or private material is recorded by the
store itself, in the same transaction as the write, so no route can forget it. Entries
hold ids, actions and counts, never testimony text; a withdrawal removes the file names
upload entries held (:meth:`corpus.writes.Writes.delete_testimony`).
"""

from __future__ import annotations

from typing import Any

from .access import Viewer, require
from .db import AnyDatabase, now
from .records import AuditEntry

__all__ = ["AuditLog"]


class AuditLog:
    def __init__(self, db: AnyDatabase) -> None:
        self.db = db

    def record(
        self,
        viewer: Viewer,
        action: str,
        target: str = "",
        detail: str = "",
        db: Any | None = None,
    ) -> None:
        """Record an action; inside ``db``'s transaction when one is given."""
        if not viewer.audited:
            return
        row = (now(), viewer.name, viewer.role, action, target[:2000], detail[:2000])
        sql = "INSERT INTO audit (at, actor, role, action, target, detail) VALUES (?,?,?,?,?,?)"
        if db is not None:
            db.execute(sql, row)
        else:
            with self.db.transaction() as conn:
                conn.execute(sql, row)

    def record_reads(self, viewer: Viewer, action: str, consents: dict[str, str]) -> None:
        """Log a read when it showed anything that is not public (testimony id ->
        consent level of what was shown)."""
        shown = sorted(tid for tid, c in consents.items() if c != "public")
        if shown:
            levels = sorted({consents[t] for t in shown})
            self.record(viewer, action, ",".join(shown), "consent: " + ",".join(levels))

    def entries(
        self, viewer: Viewer, limit: int = 100, since: str = "", action: str = ""
    ) -> list[AuditEntry]:
        """The newest entries first (admins)."""
        require(viewer, "read audit")
        clauses, args = ["at >= ?"], [since]
        if action:
            clauses.append("action = ?")
            args.append(action)
        rows = self.db.query(
            f"SELECT * FROM audit WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
            [*args, limit],
        )
        return [AuditEntry(**dict(r)) for r in rows]
