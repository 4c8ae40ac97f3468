"""Short-lived signed links to recordings, for players that cannot send a key.

A browser's ``<audio>`` element fetches its source with Range requests but cannot add an
``Authorization`` header, so a page asks ``/testimonies/{id}/audio-link`` (with its key)
for a URL that carries its own proof: the testimony, the key it was issued to and an
expiry, signed with HMAC-SHA256 under a secret made when the server starts. A link opens
one testimony's recording only, until it expires, the key is revoked, the testimony's
consent no longer allows that key, or the server restarts (the page then asks again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from corpus import KeyRing, Viewer

from .errors import Unauthorized

__all__ = ["MediaLinks"]

LEGACY = "token"  # the VOCES_API_TOKEN admin, which has no key id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class MediaLinks:
    def __init__(self, ttl_seconds: int = 3600, secret: bytes | None = None) -> None:
        self.ttl = ttl_seconds
        self._secret = secret or secrets.token_bytes(32)

    def _sign(self, testimony_id: str, subject: str, expires: int) -> str:
        message = f"{testimony_id}\n{subject}\n{expires}".encode()
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    @staticmethod
    def _subject(viewer: Viewer) -> str:
        if viewer.name.startswith("key:"):
            return viewer.name.split(":", 2)[1]
        if viewer.name.startswith("token:"):
            return LEGACY
        raise Unauthorized("links are issued to API keys only")

    def issue(self, testimony_id: str, viewer: Viewer, now: float | None = None) -> tuple[str, int]:
        """A link token for ``viewer``'s key and this testimony, and when it expires."""
        subject = self._subject(viewer)
        expires = int(now if now is not None else time.time()) + self.ttl
        return f"{subject}.{expires}.{self._sign(testimony_id, subject, expires)}", expires

    def viewer(
        self,
        token: str,
        testimony_id: str,
        keys: KeyRing,
        legacy_enabled: bool,
        now: float | None = None,
    ) -> Viewer:
        """The viewer a link stands for; Unauthorized if it is forged, for another
        testimony, expired, or its key revoked."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            raise Unauthorized("the media link is not valid")
        subject, expires, signature = parts[0], int(parts[1]), parts[2]
        expected = self._sign(testimony_id, subject, expires)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Unauthorized("the media link is not valid")
        if expires < (now if now is not None else time.time()):
            raise Unauthorized("the media link has expired; ask for a new one")
        if subject == LEGACY:
            if not legacy_enabled:
                raise Unauthorized("the media link's token is no longer configured")
            return Viewer("admin", "token:VOCES_API_TOKEN")
        found = keys.viewer_by_id(subject)
        if found is None:
            raise Unauthorized("the media link's key has been revoked")
        return found
