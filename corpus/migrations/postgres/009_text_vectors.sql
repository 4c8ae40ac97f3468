-- The opening of each testimony's text as one vector (issue 28; see ../009_text_vectors.sql).
CREATE TABLE testimony_text_vectors (
    testimony_id TEXT PRIMARY KEY REFERENCES testimonies (id) ON DELETE CASCADE,
    embedder     TEXT NOT NULL,
    vector       vector NOT NULL
);
CREATE FUNCTION voces_text_vector_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM testimony_text_vectors WHERE testimony_id = NEW.testimony_id;
    RETURN NEW;
END $$;
CREATE TRIGGER testimony_text_vector_stale AFTER UPDATE OF text ON passages
    FOR EACH ROW EXECUTE FUNCTION voces_text_vector_stale();
