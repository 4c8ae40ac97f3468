-- Keyword search (as ../004_keywords.sql, which uses SQLite FTS5): PostgreSQL full-text
-- search over each passage's original and redacted text, accents folded ("río" matches
-- "rio") and words unstemmed, as FTS5's unicode61 tokenizer does. The unaccent extension
-- is not shipped with every PostgreSQL (pgserver's has only pgvector), so voces_fold()
-- folds the accents of Spanish, Portuguese and Quechua spelling with translate(): it is
-- immutable, so the folded words are stored columns with GIN indexes.
CREATE FUNCTION voces_fold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN translate(lower(value),
                     'áàâäãåéèêëíìîïóòôöõúùûüñçÁÀÂÄÃÅÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ',
                     'aaaaaaeeeeiiiiooooouuuuncaaaaaaeeeeiiiiooooouuuunc');
ALTER TABLE passages ADD COLUMN fts_original tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, voces_fold(text))) STORED;
ALTER TABLE passages ADD COLUMN fts_redacted tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, voces_fold(coalesce(redacted, '')))) STORED;
CREATE INDEX passages_fts_original ON passages USING gin (fts_original);
CREATE INDEX passages_fts_redacted ON passages USING gin (fts_redacted);
