-- HSDS datasets may name a parent term or a taxonomy that they do not carry. Such references
-- are kept as given (the import reports them as warnings) instead of failing the import, so
-- the columns mirror the documents without foreign keys. Keeping the id (not NULL) means a
-- parent imported later links its children at once: search by a term with its descendants
-- walks `parent_id`. References inside a dataset or to what the directory holds are still
-- checked before writing (bridges_directory.dataset.check_references).
ALTER TABLE taxonomy_term
    DROP CONSTRAINT taxonomy_term_parent_id_fkey,
    DROP CONSTRAINT taxonomy_term_taxonomy_id_fkey;

-- An HSDS attribute needs only an id: one without a taxonomy term classifies nothing but is
-- kept. Attributes belong to their service's document, so their rows are keyed per service:
-- another service reusing an attribute id no longer collides.
ALTER TABLE attribute
    ALTER COLUMN taxonomy_term_id DROP NOT NULL,
    DROP CONSTRAINT attribute_pkey,
    ADD PRIMARY KEY (service_id, id);
