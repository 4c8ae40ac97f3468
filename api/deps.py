"""Request dependencies: the archive, and which consent levels the caller may see."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from corpus import Consent
from pipeline import Archive

from .errors import Unauthorized

_bearer = HTTPBearer(auto_error=False)


def get_archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def get_access(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[Consent, ...]:
    """public for everyone; restricted too with the right token; private never over HTTP."""
    token: str = request.app.state.settings.api_token
    if credentials is None:
        return ("public",)
    if not token or not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise Unauthorized("the access token is not valid")
    return ("public", "restricted")


def require_archivist(access: Annotated[tuple[Consent, ...], Depends(get_access)]) -> None:
    """Writing (reviews) needs the archive's token; without one configured, nobody may."""
    if "restricted" not in access:
        raise Unauthorized("this needs the archive's access token (Authorization: Bearer ...)")


ArchiveDep = Annotated[Archive, Depends(get_archive)]
ArchivistDep = Annotated[None, Depends(require_archivist)]
AccessDep = Annotated[tuple[Consent, ...], Depends(get_access)]
