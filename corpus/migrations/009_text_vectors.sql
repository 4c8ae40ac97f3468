-- The opening of each testimony's text as one vector (issue 28).
--
-- Grouped search scores a story by its best passage, that passage's neighbours and the
-- mean of its passage vectors; on the topical relevance set (docs/eval/topical.md) the
-- embedding of the testimony's text itself (its first 2,000 characters: a short testimony
-- whole, a long one's opening) added to those scored better than any of them, in both
-- directions across languages. It is made by the model at ingest (and again when a
-- passage's text is corrected: the trigger drops it, the correction writes it anew).
CREATE TABLE testimony_text_vectors (
    testimony_id TEXT PRIMARY KEY REFERENCES testimonies (id) ON DELETE CASCADE,
    embedder     TEXT NOT NULL,
    vector       BLOB NOT NULL
);
CREATE TRIGGER testimony_text_vector_stale AFTER UPDATE OF text ON passages BEGIN
    DELETE FROM testimony_text_vectors WHERE testimony_id = NEW.testimony_id;
END
