-- As ../005_search_speed.sql.
--
-- 1. filter_generation: a counter (row triggers: a statement trigger would also fire for
--    an upsert that changed nothing) that moves whenever what a filter or a consent level
--    selects may change other than by new passages arriving. Vector search here filters
--    inside its own SQL, but grouped search's memory of passage places
--    (corpus.places.PassagePlaces) reads it to drop what a consent change hid.
CREATE TABLE filter_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO filter_generation (id, n) VALUES (1, 0);
CREATE FUNCTION voces_filter_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER generation_testimony_changed AFTER UPDATE OR DELETE ON testimonies
    FOR EACH ROW EXECUTE FUNCTION voces_filter_generation_bump();
CREATE TRIGGER generation_passage_removed AFTER DELETE ON passages
    FOR EACH ROW EXECUTE FUNCTION voces_filter_generation_bump();
CREATE TRIGGER generation_tag_changed AFTER UPDATE OR DELETE ON tags
    FOR EACH ROW EXECUTE FUNCTION voces_filter_generation_bump();
CREATE TRIGGER generation_review_changed AFTER INSERT OR UPDATE OR DELETE ON reviews
    FOR EACH ROW EXECUTE FUNCTION voces_filter_generation_bump();

-- 2. testimony_vectors: each testimony's mean passage vector; a change to its passages'
--    vectors drops it.

CREATE TABLE testimony_vectors (
    testimony_id TEXT PRIMARY KEY REFERENCES testimonies (id) ON DELETE CASCADE,
    embedder     TEXT NOT NULL,
    vector       vector NOT NULL
);

CREATE FUNCTION voces_testimony_vector_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'passages' THEN
        DELETE FROM testimony_vectors WHERE testimony_id = OLD.testimony_id;
        RETURN OLD;
    END IF;
    DELETE FROM testimony_vectors
    WHERE testimony_id = (SELECT testimony_id FROM passages WHERE id = NEW.passage_id);
    RETURN NEW;
END $$;
CREATE TRIGGER testimony_vector_stale_vectors AFTER INSERT OR UPDATE ON vectors
    FOR EACH ROW EXECUTE FUNCTION voces_testimony_vector_stale();
CREATE TRIGGER testimony_vector_stale_passage AFTER DELETE ON passages
    FOR EACH ROW EXECUTE FUNCTION voces_testimony_vector_stale();
