"""Who is reading: every read of stored testimonies takes a :class:`Viewer`.

There is no default viewer and no viewer that means "everything" by accident: the store's
read methods take one as a required argument and turn it into SQL conditions, so a read
that forgets access cannot be written. The roles, from least to most trusted:

- ``anonymous``: public testimonies only, transcripts redacted, no reviewer names.
- ``researcher``: public and restricted testimonies, transcripts redacted.
- ``archivist``: everything, original transcripts, reviewer names; may write, review and
  change consent.
- ``admin``: what an archivist may, plus API keys and the audit log.

``Viewer.local()`` is the person at the archive machine's shell (the CLI): they own the
files under ``VOCES_HOME`` anyway, so they act as an admin, and the audit log names them.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Literal

from .records import CONSENT_LEVELS, Consent

__all__ = ["ROLES", "Role", "Viewer"]

Role = Literal["anonymous", "researcher", "archivist", "admin"]
ROLES: tuple[Role, ...] = ("anonymous", "researcher", "archivist", "admin")

_CONSENT: dict[str, tuple[Consent, ...]] = {
    "anonymous": ("public",),
    "researcher": ("public", "restricted"),
    "archivist": CONSENT_LEVELS,
    "admin": CONSENT_LEVELS,
}


@dataclass(frozen=True)
class Viewer:
    """The caller of a read or write: a role and a name for the audit log."""

    role: Role
    name: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")

    @classmethod
    def anonymous(cls) -> Viewer:
        return cls("anonymous", "anonymous")

    @classmethod
    def local(cls, name: str = "") -> Viewer:
        """The operator at this machine's shell."""
        if not name:
            try:
                name = getpass.getuser()
            except (OSError, KeyError):  # no user name in this environment
                name = "unknown"
        return cls("admin", f"local:{name}")

    @classmethod
    def system(cls) -> Viewer:
        """Voces itself (index repair, re-tagging): reads everything, audits nothing."""
        return cls("admin", "system")

    @property
    def consent(self) -> tuple[Consent, ...]:
        """The consent levels this viewer may read."""
        return _CONSENT[self.role]

    @property
    def can_write(self) -> bool:
        return self.role in ("archivist", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_originals(self) -> bool:
        """Unredacted transcripts and reviewer identities."""
        return self.role in ("archivist", "admin")

    @property
    def audited(self) -> bool:
        """Whether this viewer's reads of restricted or private material are logged."""
        return self.name != "system"
