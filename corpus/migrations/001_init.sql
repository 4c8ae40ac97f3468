-- Voces archive schema, version 1.
CREATE TABLE testimonies (
    id                   TEXT PRIMARY KEY,
    title                TEXT NOT NULL DEFAULT '',
    region               TEXT NOT NULL DEFAULT '',
    community            TEXT NOT NULL DEFAULT '',
    date                 TEXT NOT NULL DEFAULT '',
    language             TEXT NOT NULL DEFAULT '',
    language_probability REAL,
    duration             REAL,
    consent              TEXT NOT NULL CHECK (consent IN ('public', 'restricted', 'private')),
    source_kind          TEXT NOT NULL CHECK (source_kind IN ('audio', 'text')),
    source_name          TEXT NOT NULL DEFAULT '',
    source_hash          TEXT NOT NULL,
    media_path           TEXT NOT NULL DEFAULT '',
    illustrative         INTEGER NOT NULL DEFAULT 0,
    extra                TEXT NOT NULL DEFAULT '{}',
    created_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX testimonies_source_hash ON testimonies (source_hash);
CREATE INDEX testimonies_region ON testimonies (region);
CREATE INDEX testimonies_language ON testimonies (language);

CREATE TABLE passages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    testimony_id TEXT NOT NULL REFERENCES testimonies (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    start        REAL,
    "end"        REAL,
    text         TEXT NOT NULL,
    UNIQUE (testimony_id, seq)
);

CREATE TABLE tags (
    passage_id INTEGER NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    theme      TEXT NOT NULL,
    score      REAL NOT NULL CHECK (score >= 0 AND score <= 1),
    source     TEXT NOT NULL,
    evidence   TEXT NOT NULL DEFAULT '[]',
    version    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (passage_id, theme, source)
);
CREATE INDEX tags_theme ON tags (theme);
