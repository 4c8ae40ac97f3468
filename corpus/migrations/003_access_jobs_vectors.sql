-- Access, jobs and durable vectors.
-- Redacted copies of what may identify a witness, filled at ingest; NULL means "not yet
-- redacted", and readers who may not see originals then get nothing (fail closed).
ALTER TABLE passages ADD COLUMN redacted TEXT;
ALTER TABLE testimonies ADD COLUMN title_redacted TEXT;
-- The witness agreed to be named: public views show names in this testimony.
ALTER TABLE testimonies ADD COLUMN allow_names INTEGER NOT NULL DEFAULT 0;
CREATE INDEX testimonies_consent ON testimonies (consent);

-- Passage vectors are written in the same transaction as the passage: SQLite holds them,
-- and the FAISS index is a snapshot plus this log of changes since (see corpus/index.py).
CREATE TABLE vectors (
    passage_id INTEGER PRIMARY KEY REFERENCES passages (id) ON DELETE CASCADE,
    embedder   TEXT NOT NULL,
    vector     BLOB NOT NULL
);
CREATE TABLE index_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    passage_id INTEGER NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('add', 'remove'))
);
CREATE TRIGGER vectors_added AFTER INSERT ON vectors BEGIN
    INSERT INTO index_log (passage_id, op) VALUES (NEW.passage_id, 'add');
END;
CREATE TRIGGER vectors_replaced AFTER UPDATE ON vectors BEGIN
    INSERT INTO index_log (passage_id, op) VALUES (NEW.passage_id, 'add');
END;
CREATE TRIGGER vectors_removed AFTER DELETE ON vectors BEGIN
    INSERT INTO index_log (passage_id, op) VALUES (OLD.passage_id, 'remove');
END;

-- API keys: only a hash of the secret is kept; the key is shown once, when created.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('researcher', 'archivist', 'admin')),
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Every write, consent change and read of restricted or private material.
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    role   TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);

-- Ingest jobs as people see them (state, progress, error). The queue itself is huey's.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    source_name  TEXT NOT NULL,
    upload_path  TEXT NOT NULL,
    metadata     TEXT NOT NULL DEFAULT '{}',
    submitted_by TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    heartbeat_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    progress     REAL NOT NULL DEFAULT 0,
    message      TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    results      TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX jobs_state ON jobs (state)
