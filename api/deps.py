"""Request dependencies: the archive, and who is calling (a :class:`~corpus.Viewer`).

No key: the anonymous viewer. A valid key (``Authorization: Bearer voces_...``): its role.
A key that is not valid: 401, on every route alike (health included), so a mistyped key
is noticed instead of silently reading less.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import State

from corpus import PassageFilter, Viewer, allowed, require
from pipeline import Archive
from pipeline.jobs import JobRunner
from pipeline.texts import filter_from

from .errors import Unauthorized

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `voces keys create --role researcher|archivist|admin`. "
    "Without one you read public testimonies only.",
)


async def get_archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


async def get_jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


def viewer_for_header(state: State, authorization: str) -> Viewer:
    """Who an ``Authorization`` header stands for: anonymous without one, the key's role
    with a valid key, Unauthorized otherwise. The one check for both :func:`get_viewer` and
    the body limit, which must know who is calling before it reads a byte of the body."""
    if not authorization:
        return Viewer.anonymous()
    scheme, key = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    legacy: str = state.settings.api_token
    if legacy and hmac.compare_digest(key.encode(), legacy.encode()):
        return Viewer("admin", "token:VOCES_API_TOKEN")
    archive: Archive = state.archive
    viewer = archive.keys.viewer(key)
    if viewer is None:
        raise Unauthorized("the API key is not valid (or has been revoked)")
    return viewer


def get_viewer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Viewer:
    """Who is calling: anonymous without a key, the key's role with a valid one.
    ``credentials`` declares the bearer scheme in OpenAPI; the header itself is read by
    :func:`viewer_for_header`, so that a malformed one is refused, not read as no key."""
    return viewer_for_header(request.app.state, request.headers.get("authorization", ""))


def _required(viewer: Viewer, action: str, key: str) -> Viewer:
    """``viewer``, if it may do ``action`` (:func:`corpus.require`); a caller without a
    key is told a key is needed (401), one whose key's role may not do it is refused
    (403)."""
    if viewer.role == "anonymous" and not allowed(viewer, action):
        raise Unauthorized(f"this needs {key} (Authorization: Bearer ...)")
    require(viewer, action)
    return viewer


def require_writer(viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
    return _required(viewer, "write", "an archivist's key")


def require_admin(viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
    return _required(viewer, "administer", "an admin key")


async def passage_filter(
    region: Annotated[str, Query(max_length=200)] = "",
    community: Annotated[str, Query(max_length=200)] = "",
    theme: Annotated[str, Query(max_length=100, description="A theme id of the taxonomy")] = "",
    language: Annotated[str, Query(max_length=8)] = "",
    since: Annotated[str, Query(max_length=10, description="YYYY[-MM[-DD]]")] = "",
    until: Annotated[str, Query(max_length=10, description="YYYY[-MM[-DD]]")] = "",
) -> PassageFilter:
    """The filters a search or an export takes from its query string (a bad date: 400)."""
    return filter_from(region, community, theme, language, since, until)


ArchiveDep = Annotated[Archive, Depends(get_archive)]
FilterDep = Annotated[PassageFilter, Depends(passage_filter)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]
WriterDep = Annotated[Viewer, Depends(require_writer)]
AdminDep = Annotated[Viewer, Depends(require_admin)]
