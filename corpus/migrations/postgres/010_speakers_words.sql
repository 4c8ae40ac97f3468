-- Who speaks when, and every word timed (issue 29; see ../010_speakers_words.sql).
ALTER TABLE passages ADD COLUMN speaker TEXT NOT NULL DEFAULT '';
CREATE TABLE speakers (
    testimony_id TEXT NOT NULL REFERENCES testimonies (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (testimony_id, label)
);
CREATE TABLE words (
    passage_id  BIGINT NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    start       DOUBLE PRECISION NOT NULL,
    "end"       DOUBLE PRECISION NOT NULL,
    text        TEXT NOT NULL,
    probability DOUBLE PRECISION NOT NULL,
    edited      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (passage_id, position)
);
CREATE TRIGGER generation_passage_speaker AFTER UPDATE OF speaker ON passages
    FOR EACH ROW EXECUTE FUNCTION voces_filter_generation_bump();
CREATE TRIGGER generation_speaker_named AFTER UPDATE ON speakers
    FOR EACH ROW EXECUTE FUNCTION voces_filter_generation_bump();
