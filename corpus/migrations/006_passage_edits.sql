-- Transcript corrections: an archivist's edit of a passage's text keeps its times (start
-- and end are never touched) and its history. Each row is one edit, with the text before
-- and after, who made it and why; the passage row holds the latest text.
CREATE TABLE passage_edits (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    passage_id  INTEGER NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    old_text    TEXT NOT NULL,
    new_text    TEXT NOT NULL,
    editor      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    edited_at   TEXT NOT NULL
);
CREATE INDEX passage_edits_passage ON passage_edits (passage_id);
