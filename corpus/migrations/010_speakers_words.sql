-- Who speaks when, and every word timed (issue 29).
--
-- passages.speaker: the diarization label ("S1", "S2", ...) of the voice a passage holds
-- (a passage is one voice); '' for typed testimonies and archives made before this.
-- speakers: each voice of a testimony and the name an archivist gives it ('' until
-- named). A name is personal data: viewers who may not see names read it masked
-- (corpus.visibility), and it goes with the testimony (cascade, then purge).
-- words: Whisper's words of each passage with their times and probabilities; personal
-- data exactly like the passage text (they spell out what redaction masks), so only
-- viewers who may see names read them. A correction replaces a passage's words.
ALTER TABLE passages ADD COLUMN speaker TEXT NOT NULL DEFAULT '';
CREATE TABLE speakers (
    testimony_id TEXT NOT NULL REFERENCES testimonies (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (testimony_id, label)
);
CREATE TABLE words (
    passage_id  INTEGER NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    start       REAL NOT NULL,
    "end"       REAL NOT NULL,
    text        TEXT NOT NULL,
    probability REAL NOT NULL,
    edited      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (passage_id, position)
) WITHOUT ROWID;
-- a speaker filter selects other passages once a turn is fixed or a voice renamed
-- (see 005_search_speed.sql)
CREATE TRIGGER generation_passage_speaker AFTER UPDATE OF speaker ON passages BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER generation_speaker_named AFTER UPDATE ON speakers BEGIN
    UPDATE filter_generation SET n = n + 1 WHERE id = 1;
END
