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

from .errors import ForbiddenError
from .records import CONSENT_LEVELS, Consent

__all__ = ["ACTIONS", "ROLES", "Role", "Viewer", "allowed", "require"]

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


_WRITERS: frozenset[Role] = frozenset({"archivist", "admin"})
_ADMINS: frozenset[Role] = frozenset({"admin"})

#: Who may do what: every write and every privileged read names its action here and
#: calls :func:`require` (as datasette asks ``permission_allowed(actor, action,
#: resource)``). Reading testimonies is not an action: what a role may read is its
#: consent levels (:attr:`Viewer.consent`), applied by :mod:`corpus.visibility`.
ACTIONS: dict[str, tuple[frozenset[Role], str]] = {
    "ingest": (_WRITERS, "ingesting needs an archivist's key"),
    "upload": (_WRITERS, "uploading needs an archivist's key"),
    "read jobs": (_WRITERS, "jobs are for archivists"),
    "review": (_WRITERS, "reviewing needs an archivist's key"),
    "correct": (_WRITERS, "correcting a transcript needs an archivist's key"),
    "name speakers": (_WRITERS, "naming a speaker needs an archivist's key"),
    "fix turns": (_WRITERS, "changing who speaks in a passage needs an archivist's key"),
    "change consent": (_WRITERS, "changing consent needs an archivist's key"),
    "delete": (_WRITERS, "deleting needs an archivist's key"),
    "write": (_WRITERS, "this needs an archivist's key"),
    "read originals": (_WRITERS, "original transcripts are for archivists"),
    "read edit history": (_WRITERS, "the edit history holds original text: it is for archivists"),
    "discover themes": (_WRITERS, "discovering themes needs an archivist's key"),
    "promote theme": (_WRITERS, "promoting a theme needs an archivist's key"),
    "read audit": (_ADMINS, "the audit log is for admins"),
    "create key": (_ADMINS, "only an admin may create keys"),
    "list keys": (_ADMINS, "only an admin may list keys"),
    "revoke key": (_ADMINS, "only an admin may revoke keys"),
    "administer": (_ADMINS, "this needs an admin key"),
    "migrate": (_ADMINS, "migrating an archive is for admins"),
}


def allowed(viewer: Viewer, action: str) -> bool:
    """Whether ``viewer``'s role may do ``action`` (one of :data:`ACTIONS`)."""
    roles, _ = ACTIONS[action]
    return viewer.role in roles


def require(viewer: Viewer, action: str, resource: str = "") -> None:
    """Raise :class:`~corpus.errors.ForbiddenError` unless ``viewer`` may do ``action``
    (to ``resource``, named in the message when given). Every refusal of a write or a
    privileged read comes from here."""
    if not allowed(viewer, action):
        _, message = ACTIONS[action]
        raise ForbiddenError(f"{message} ({resource})" if resource else message)
