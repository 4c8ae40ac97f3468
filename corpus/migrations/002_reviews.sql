-- Human review of theme tags. A review decides one theme of one passage and wins over
-- every machine tag of that theme; it lives apart from machine tags, so re-tagging and
-- re-indexing never touch it. review_log keeps every decision ever made.
CREATE TABLE reviews (
    passage_id  INTEGER NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    theme       TEXT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('accept', 'reject', 'add')),
    reviewer    TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    reviewed_at TEXT NOT NULL,
    PRIMARY KEY (passage_id, theme)
);

CREATE TABLE review_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    passage_id  INTEGER NOT NULL,
    theme       TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    reviewer    TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    reviewed_at TEXT NOT NULL
);

-- The tags everyone reads: machine tags not overruled by a review, plus accepted or
-- added themes as human tags (score 1).
CREATE VIEW effective_tags AS
    SELECT g.passage_id, g.theme, g.score, g.source, g.evidence, g.version
    FROM tags g
    WHERE g.source != 'human'
      AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.passage_id = g.passage_id AND r.theme = g.theme)
    UNION ALL
    SELECT r.passage_id, r.theme, 1.0, 'human',
           json_array('reviewed by ' || r.reviewer || ' on ' || substr(r.reviewed_at, 1, 10)
                      || CASE WHEN r.note != '' THEN ': ' || r.note ELSE '' END),
           'review'
    FROM reviews r
    WHERE r.verdict IN ('accept', 'add');
