"""API keys and the audit log (admins)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from ..audit_since import audit_since
from ..deps import AdminDep, ArchiveDep
from ..schemas import AuditList, AuditPublic, KeyCreate, KeyCreated, KeyList, KeyPublic

router = APIRouter(tags=["admin"])


@router.get("/keys", response_model=KeyList)
def list_keys(archive: ArchiveDep, viewer: AdminDep) -> KeyList:
    """Every API key (never the secrets)."""
    return KeyList(keys=[KeyPublic(**asdict(k)) for k in archive.keys.list(viewer)])


@router.post("/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED)
def create_key(archive: ArchiveDep, viewer: AdminDep, body: KeyCreate) -> KeyCreated:
    """A new key: the answer holds it this once; only its hash is kept."""
    record, key = archive.keys.create(body.role, body.name, viewer)
    return KeyCreated(**asdict(record), key=key)


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(
    archive: ArchiveDep, viewer: AdminDep, key_id: Annotated[str, Path(max_length=100)]
) -> None:
    archive.keys.revoke(key_id, viewer)


@router.get("/audit", response_model=AuditList)
def audit(
    archive: ArchiveDep,
    viewer: AdminDep,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    since: Annotated[
        str,
        Query(
            max_length=40,
            description="ISO 8601 date or time (2026-01-01, 2026-01-01T12:00:00Z); "
            "a time without an offset is UTC",
        ),
    ] = "",
    action: Annotated[str, Query(max_length=40)] = "",
) -> AuditList:
    """Writes, consent changes and reads of restricted or private material, newest first."""
    entries = archive.read.audit_entries(viewer, limit, audit_since(since), action)
    return AuditList(entries=[AuditPublic(**asdict(e)) for e in entries])
