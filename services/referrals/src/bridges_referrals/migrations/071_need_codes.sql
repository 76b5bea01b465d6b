-- The need codes an intake may name: the directory's taxonomy as the programs' events made it
-- known (see `need_codes`): each program's codes and every dotted prefix of one.
CREATE TABLE need_code (
    code text PRIMARY KEY
);

INSERT INTO need_code (code)
SELECT DISTINCT array_to_string((string_to_array(c.code, '.'))[1:n], '.')
FROM program
CROSS JOIN LATERAL unnest(program.taxonomy_codes) AS c (code)
CROSS JOIN LATERAL generate_series(1, cardinality(string_to_array(c.code, '.'))) AS n
WHERE (string_to_array(c.code, '.'))[n] <> ''
ON CONFLICT DO NOTHING;
