-- Words and a language in one GIN index. Apart, "food" spoken in Spanish built a bitmap of
-- every program holding a food word (19k at ~120k programs) and another of every program in
-- Spanish (13k), then intersected them; together, the index walks both posting lists in step
-- and gives only the programs holding both (2k): 7.2 ms -> 4.2 ms for "food" + Spanish + open
-- now, every other search unchanged (a GIN index on several columns serves a condition on any
-- of them as well as one on that column alone).
CREATE INDEX service_search_languages ON service USING gin (search_vector, languages);
DROP INDEX service_search;
DROP INDEX service_languages;
