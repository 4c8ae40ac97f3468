-- Keyword statistics over what the caller may read (issue 26).
--
-- FTS5's bm25() weighs a word by how many rows of its table hold it and a passage by its
-- length against the table's average, and its vocabulary counts rows per word: over one
-- table of every passage, a private testimony naming "Yanaquihua" made the public passage
-- that names it score 0.59 instead of 0.79 for an anonymous caller, one bit per query
-- about hidden text. So the words the public and researchers search (a passage's redacted
-- text) are also indexed per scope, each table holding exactly the passages of the
-- consent levels one role may read:
--
--   passages_fts_public  public passages                  (anonymous callers)
--   passages_fts_shared  public and restricted passages   (researchers)
--
-- and passages_fts (every passage, original and redacted text) serves archivists and
-- admins, who may read everything. Triggers keep the scopes true when a passage is
-- added, corrected or removed and when a testimony's consent changes.
CREATE VIRTUAL TABLE passages_fts_public USING fts5(
    redacted, tokenize = "unicode61 remove_diacritics 2"
);
CREATE VIRTUAL TABLE passages_fts_shared USING fts5(
    redacted, tokenize = "unicode61 remove_diacritics 2"
);
CREATE VIRTUAL TABLE passages_fts_public_vocab USING fts5vocab(passages_fts_public, 'row');
CREATE VIRTUAL TABLE passages_fts_shared_vocab USING fts5vocab(passages_fts_shared, 'row');
INSERT INTO passages_fts_public (rowid, redacted)
    SELECT p.id, coalesce(p.redacted, '') FROM passages p
    JOIN testimonies t ON t.id = p.testimony_id WHERE t.consent = 'public';
INSERT INTO passages_fts_shared (rowid, redacted)
    SELECT p.id, coalesce(p.redacted, '') FROM passages p
    JOIN testimonies t ON t.id = p.testimony_id WHERE t.consent IN ('public', 'restricted');
CREATE TRIGGER passages_scope_added AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts_public (rowid, redacted)
        SELECT NEW.id, coalesce(NEW.redacted, '') FROM testimonies
        WHERE id = NEW.testimony_id AND consent = 'public';
    INSERT INTO passages_fts_shared (rowid, redacted)
        SELECT NEW.id, coalesce(NEW.redacted, '') FROM testimonies
        WHERE id = NEW.testimony_id AND consent IN ('public', 'restricted');
END;
CREATE TRIGGER passages_scope_changed AFTER UPDATE OF redacted ON passages BEGIN
    UPDATE passages_fts_public SET redacted = coalesce(NEW.redacted, '') WHERE rowid = NEW.id;
    UPDATE passages_fts_shared SET redacted = coalesce(NEW.redacted, '') WHERE rowid = NEW.id;
END;
CREATE TRIGGER passages_scope_removed AFTER DELETE ON passages BEGIN
    DELETE FROM passages_fts_public WHERE rowid = OLD.id;
    DELETE FROM passages_fts_shared WHERE rowid = OLD.id;
END;
CREATE TRIGGER passages_scope_consent AFTER UPDATE OF consent ON testimonies
WHEN OLD.consent != NEW.consent BEGIN
    DELETE FROM passages_fts_public
        WHERE rowid IN (SELECT id FROM passages WHERE testimony_id = NEW.id);
    DELETE FROM passages_fts_shared
        WHERE rowid IN (SELECT id FROM passages WHERE testimony_id = NEW.id);
    INSERT INTO passages_fts_public (rowid, redacted)
        SELECT id, coalesce(redacted, '') FROM passages
        WHERE testimony_id = NEW.id AND NEW.consent = 'public';
    INSERT INTO passages_fts_shared (rowid, redacted)
        SELECT id, coalesce(redacted, '') FROM passages
        WHERE testimony_id = NEW.id AND NEW.consent IN ('public', 'restricted');
END
