"""What advocates and reviewers count: themes per group, the tagger's measured errors, and
the passages a review would teach most, always among what the viewer may read.

Theme counts and cells are reads like any other (the consent rule of
:mod:`corpus.visibility`); so are the reviews that measure the tagger's error rates, since
those rates correct the shares a viewer is shown (issue 26).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .access import Viewer
from .db import AnyDatabase
from .errors import CorpusError
from .records import Hit, Passage, ThemeCell, ThemeCount
from .visibility import PassageFilter, consent_sql, passage_from_row, passage_text

if TYPE_CHECKING:
    from .reads import Reads

__all__ = ["GROUP_KEYS", "ThemeStats"]

#: what theme counts may be grouped by, as SQL over a testimony ``t``
GROUP_KEYS = {
    "region": "t.region",
    "community": "t.community",
    "language": "t.language",
    "year": "substr(t.date, 1, 4)",
}


class ThemeStats:
    def __init__(self, db: AnyDatabase, reads: Reads) -> None:
        self.db = db
        self.reads = reads

    def counts(self, viewer: Viewer, by: str = "", min_score: float = 0.0) -> list[ThemeCount]:
        """Testimonies and passages per theme among those the viewer may see, optionally
        grouped by region, community, language or year."""
        key = GROUP_KEYS
        if by and by not in key:
            raise CorpusError(f"cannot group themes by {by!r}: use {', '.join(key)}")
        group = key.get(by)
        select_group = f", {group} AS grp" if group else ", '' AS grp"
        consent, levels = consent_sql(viewer, "t.consent", self.db.unindexed)
        rows = self.db.query(
            f"SELECT g.theme{select_group}, count(DISTINCT t.id) AS testimonies, "
            "count(DISTINCT p.id) AS passages "
            "FROM effective_tags g JOIN passages p ON p.id = g.passage_id "
            "JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE g.score >= ? AND {consent} "
            "GROUP BY g.theme, grp ORDER BY g.theme, grp",
            [min_score, *levels],
        )
        return [
            ThemeCount(r["theme"], r["grp"] or "", r["testimonies"], r["passages"]) for r in rows
        ]

    def cells(self, viewer: Viewer, by: str = "") -> list[ThemeCell]:
        """Per theme and group (region, community, language or year; "" for none),
        among the passages the viewer may see: all passages of the group, those the
        machine tagged with the theme and nobody reviewed, and those reviewed for it
        (with or without). What prevalence estimates are made from."""
        group = GROUP_KEYS.get(by, "''") if by else "''"
        if by and by not in GROUP_KEYS:
            raise CorpusError(f"cannot group themes by {by!r}: use {', '.join(GROUP_KEYS)}")
        where, args = PassageFilter().where(viewer, hint=self.db.unindexed)
        base = f"FROM passages p JOIN testimonies t ON t.id = p.testimony_id WHERE {where}"
        totals = {
            r[0] or "": r[1]
            for r in self.db.query(f"SELECT {group} AS grp, count(*) {base} GROUP BY grp", args)
        }
        tagged = self.db.query(
            f"SELECT g.theme, {group} AS grp, count(DISTINCT p.id) "
            f"FROM tags g JOIN passages p ON p.id = g.passage_id "
            f"JOIN testimonies t ON t.id = p.testimony_id WHERE {where} "
            "AND g.source != 'human' AND NOT EXISTS (SELECT 1 FROM reviews r "
            "WHERE r.passage_id = g.passage_id AND r.theme = g.theme) GROUP BY g.theme, grp",
            args,
        )
        reviewed = self.db.query(
            f"SELECT r.theme, {group} AS grp, "
            "sum(CASE WHEN r.verdict != 'reject' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN r.verdict = 'reject' THEN 1 ELSE 0 END) "
            "FROM reviews r JOIN passages p ON p.id = r.passage_id "
            f"JOIN testimonies t ON t.id = p.testimony_id WHERE {where} GROUP BY r.theme, grp",
            args,
        )
        cells: dict[tuple[str, str], list[int]] = {}
        for theme, grp, n in tagged:
            cells.setdefault((theme, grp or ""), [0, 0, 0])[0] = n
        for theme, grp, yes, no in reviewed:
            cell = cells.setdefault((theme, grp or ""), [0, 0, 0])
            cell[1], cell[2] = int(yes), int(no)
        return [
            ThemeCell(theme, grp, totals.get(grp, 0), n, yes, no)
            for (theme, grp), (n, yes, no) in sorted(cells.items())
            if totals.get(grp, 0)
        ]

    def quotes(
        self, viewer: Viewer, by: str = "", per_cell: int = 3
    ) -> dict[tuple[str, str], list[Hit]]:
        """Representative passages per theme and group, among those the viewer may see:
        reviewed ones first (accepted or added), then by the tag's score; each a search
        hit (the text as the viewer may read it, its times, whether it can be played)."""
        if by and by not in GROUP_KEYS:
            raise CorpusError(f"cannot group themes by {by!r}: use {', '.join(GROUP_KEYS)}")
        if per_cell <= 0:
            return {}
        group = GROUP_KEYS[by] if by else "''"
        where, args = PassageFilter().where(viewer, hint=self.db.unindexed)
        rows = self.db.query(
            "SELECT theme, grp, passage_id, score FROM (SELECT g.theme, "
            f"{group} AS grp, g.passage_id, g.score, row_number() OVER (PARTITION BY g.theme, "
            f"{group} ORDER BY g.source = 'human' DESC, g.score DESC, g.passage_id) AS rank "
            "FROM effective_tags g JOIN passages p ON p.id = g.passage_id "
            f"JOIN testimonies t ON t.id = p.testimony_id WHERE {where}) WHERE rank <= ?",
            [*args, per_cell],
        )
        hits = {
            h.passage_id: h for h in self.reads.hits([(r[2], float(r[3])) for r in rows], viewer)
        }
        out: dict[tuple[str, str], list[Hit]] = {}
        for theme, grp, pid, _ in rows:
            if pid in hits:
                out.setdefault((theme, grp or ""), []).append(hits[pid])
        return out

    def confusion(self, viewer: Viewer) -> dict[str, dict[str, int]]:
        """Per theme, the reviewers' verdicts against the machine tags they judged: true
        and false positives and negatives (counts only), over the reviews of passages
        ``viewer`` may read: the error rates they give correct the theme shares that
        viewer is shown, which reviews of hidden passages must not move."""
        consent, levels = consent_sql(viewer, "t.consent", self.db.unindexed)
        rows = self.db.query(
            "SELECT r.theme, r.verdict, EXISTS (SELECT 1 FROM tags g WHERE g.passage_id = "
            "r.passage_id AND g.theme = r.theme AND g.source != 'human') FROM reviews r "
            "JOIN passages p ON p.id = r.passage_id JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE {consent}",
            levels,
        )
        out: dict[str, dict[str, int]] = {}
        for theme, verdict, machine in rows:
            c = out.setdefault(theme, {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
            truth = verdict != "reject"
            c[("t" if truth == bool(machine) else "f") + ("p" if machine else "n")] += 1
        return out

    def pool(self, viewer: Viewer, limit: int, theme: str = "") -> list[tuple[Passage, str]]:
        """Up to ``limit`` passages the viewer may see that nobody has reviewed (for
        ``theme``, when given), each with its language; in a fixed shuffled order (a
        multiplicative hash of the id), so a pool spreads over the archive instead of
        taking its oldest testimonies, and the same archive gives the same pool."""
        condition = "NOT EXISTS (SELECT 1 FROM reviews r WHERE r.passage_id = p.id" + (
            " AND r.theme = ?)" if theme else ")"
        )
        rows = self.reads.passage_rows(
            condition,
            [theme] if theme else [],
            viewer,
            order="(p.id * 2654435761) % 4294967296",
            limit=limit,
        )
        return [(passage_from_row(r, viewer), r["language"] or "") for r in rows]

    def untagged(
        self, viewer: Viewer, min_score: float, limit: int
    ) -> list[tuple[int, str, str, str]]:
        """(id, text as the viewer may read it, language, region) of up to ``limit``
        passages the viewer may see that no theme tags (reviews applied), in id order."""
        rows = self.reads.passage_rows(
            "NOT EXISTS (SELECT 1 FROM effective_tags g WHERE g.passage_id = p.id "
            "AND g.score >= ?)",
            [min_score],
            viewer,
            order="p.id",
            limit=limit,
        )
        return [
            (r["id"], passage_text(r, viewer)[0], r["language"] or "", r["region"] or "")
            for r in rows
        ]

    def totals(self) -> dict[str, int]:
        """Current reviews per theme (a system read: counts only)."""
        rows = self.db.query("SELECT theme, count(*) FROM reviews GROUP BY theme")
        return {theme: n for theme, n in rows}
