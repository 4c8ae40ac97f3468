-- Keyword statistics over what the caller may read (issue 26; see ../008_keyword_scopes.sql).
-- PostgreSQL needs no tables for it: ts_rank_cd scores a passage by its own words alone
-- (no collection statistics), and the counts grouped search takes (how many passages hold
-- a word) are queries joined to the consent levels of the caller (corpus.store). The
-- number is kept so that both engines' schemas have the same versions.
SELECT 1;
