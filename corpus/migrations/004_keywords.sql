-- Keyword search: SQLite FTS5 over each passage's original and redacted text, accents
-- folded ("río" matches "rio"). A viewer who may not see names searches the redacted
-- column only, so a masked name cannot be found by typing it.
CREATE VIRTUAL TABLE passages_fts USING fts5(
    original, redacted, tokenize = "unicode61 remove_diacritics 2"
);
CREATE VIRTUAL TABLE passages_fts_vocab USING fts5vocab(passages_fts, 'row');
INSERT INTO passages_fts (rowid, original, redacted)
    SELECT id, text, coalesce(redacted, '') FROM passages;
CREATE TRIGGER passages_fts_added AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts (rowid, original, redacted)
        VALUES (NEW.id, NEW.text, coalesce(NEW.redacted, ''));
END;
CREATE TRIGGER passages_fts_changed AFTER UPDATE OF text, redacted ON passages BEGIN
    UPDATE passages_fts SET original = NEW.text, redacted = coalesce(NEW.redacted, '')
        WHERE rowid = NEW.id;
END;
CREATE TRIGGER passages_fts_removed AFTER DELETE ON passages BEGIN
    DELETE FROM passages_fts WHERE rowid = OLD.id;
END
