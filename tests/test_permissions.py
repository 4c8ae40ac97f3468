"""One permission check (issue 27): ``corpus.require(viewer, action, resource)``.

Every write and privileged read names its action and asks :func:`corpus.require`, which
always refuses with ForbiddenError. The expected table is written out here, not taken
from the product, so widening a role's powers by editing ``corpus.access.ACTIONS`` fails.
"""

from __future__ import annotations

import pytest

from corpus import ForbiddenError, Viewer, allowed, require
from corpus.access import ACTIONS
from pipeline import Metadata
from pipeline.texts import TextItem

from .conftest import DATA, LOCAL

ARCHIVIST_ACTIONS = {
    "ingest",
    "upload",
    "read jobs",
    "review",
    "correct",
    "name speakers",
    "fix turns",
    "change consent",
    "delete",
    "write",
    "read originals",
    "read edit history",
    "discover themes",
    "promote theme",
}
ADMIN_ONLY = {"read audit", "create key", "list keys", "revoke key", "administer", "migrate"}


def test_the_table_is_exactly_who_may_do_what():
    assert set(ACTIONS) == ARCHIVIST_ACTIONS | ADMIN_ONLY
    for action in ACTIONS:
        assert not allowed(Viewer.anonymous(), action), action
        assert not allowed(Viewer("researcher", "r"), action), action
        assert allowed(Viewer("archivist", "a"), action) == (action in ARCHIVIST_ACTIONS)
        assert allowed(Viewer("admin", "x"), action), action


def test_require_refuses_with_forbidden_naming_the_resource():
    with pytest.raises(ForbiddenError, match=r"jobs are for archivists \(job:42\)"):
        require(Viewer("researcher", "r"), "read jobs", "job:42")
    require(Viewer("archivist", "a"), "read jobs", "job:42")  # no exception


def test_a_refused_ingest_is_forbidden_like_every_other_refusal(archive):
    researcher = Viewer("researcher", "key:r")
    item = TextItem("t-1", "El río está contaminado.", Metadata(consent="public"), "x:1")
    with pytest.raises(ForbiddenError):
        archive.ingest_texts([item], researcher)
    with pytest.raises(ForbiddenError):
        archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(language="es"), researcher)
    assert archive.store.counts(LOCAL)["testimonies"] == 0
