-- Search speed (issue 8).
--
-- 1. filter_generation: a counter that changes whenever the passages a search filter
--    selects may change other than by new passages arriving: a testimony re-labelled or
--    removed, a passage changed or removed, a tag changed or removed, a review written.
--    Search caches the passage ids each filter allows, keyed on this counter; new
--    passages (ids above the largest it has seen: rowids only grow while nothing is
--    deleted, and a delete moves the counter) are added to a cached set incrementally,
--    so an ingest running beside searches does not make every query re-read the archive.
--    Tags written with new passages need no bump for the same reason; every other tag
--    write (a retag) deletes the old tags first, which bumps it.
CREATE TABLE filter_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO filter_generation (id, n) VALUES (1, 0);
CREATE TRIGGER generation_testimony_changed AFTER UPDATE ON testimonies BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER generation_testimony_removed AFTER DELETE ON testimonies BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER generation_passage_removed AFTER DELETE ON passages BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER generation_tag_changed AFTER UPDATE ON tags BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER generation_tag_removed AFTER DELETE ON tags BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER generation_review_added AFTER INSERT ON reviews BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER generation_review_changed AFTER UPDATE ON reviews BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER generation_review_removed AFTER DELETE ON reviews BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END;

-- 2. testimony_vectors: the mean of each testimony's passage vectors, which grouped
--    search scores every candidate story by. Written with the passage vectors; any change
--    to a testimony's passages or vectors drops its row (search then computes it from the
--    passage vectors, and the next write stores it again).
CREATE TABLE testimony_vectors (
    testimony_id TEXT PRIMARY KEY REFERENCES testimonies (id) ON DELETE CASCADE,
    embedder     TEXT NOT NULL,
    vector       BLOB NOT NULL
);
CREATE TRIGGER testimony_vector_stale_update AFTER UPDATE ON vectors BEGIN
    DELETE FROM testimony_vectors
    WHERE testimony_id = (SELECT testimony_id FROM passages WHERE id = NEW.passage_id);
END;
CREATE TRIGGER testimony_vector_stale_insert AFTER INSERT ON vectors BEGIN
    DELETE FROM testimony_vectors
    WHERE testimony_id = (SELECT testimony_id FROM passages WHERE id = NEW.passage_id);
END;
CREATE TRIGGER testimony_vector_stale_passage AFTER DELETE ON passages BEGIN
    DELETE FROM testimony_vectors WHERE testimony_id = OLD.testimony_id;
END
