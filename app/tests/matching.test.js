// Offline matching passes the same cases as the directory's search on PostgreSQL
// (services/directory/tests/test_matching_cases.py), with the lexicon the directory serves for
// them, and stems words as the directory does.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  concepts,
  editDistance,
  fold,
  maxTypos,
  prepareLexicon,
  programFields,
  searchPrograms,
  stem,
  withinTypos,
} from "../src/matching.js";

const data = (name) => JSON.parse(readFileSync(new URL(`../../tests/data/${name}`, import.meta.url), "utf8"));
const CASES = data("matching_cases.json");
const LEXICON = prepareLexicon(data("matching_lexicon.json"));

for (const c of CASES.cases) {
  test(`${JSON.stringify(c.query)}: ${c.why}`, () => {
    const names = searchPrograms(CASES.services, c.query, LEXICON).map((found) => found.service.name);
    if (c.exactly) assert.deepEqual(names, c.exactly);
    if (c.first) assert.deepEqual(names.slice(0, c.first.length), c.first);
    for (const name of c.includes ?? []) assert.ok(names.includes(name), `${name} in ${names}`);
  });
}

test("words are stemmed as the directory stems them (Snowball 2 English)", () => {
  const stems = data("stems.json");
  const differ = Object.entries(stems).filter(([word, expected]) => stem(word) !== expected);
  assert.deepEqual(differ, []);
  assert.ok(Object.keys(stems).length > 1000);
});

test("folding lowers case and drops accents", () => {
  assert.equal(fold("Consejería NIÑOS"), "consejeria ninos");
});

test("typos allowed grow with the word, never for codes", () => {
  const rules = LEXICON.rules;
  const words = ["food", "shelt", "shelters", "counselling", "97910x", "a".repeat(63)];
  assert.deepEqual(words.map((w) => maxTypos(w, rules)), [0, 1, 1, 2, 0, 0]);
  assert.equal(editDistance("sheltre", "shelter"), 1); // a swap is one edit
  assert.equal(editDistance("councel", "counsel"), 1);
  assert.ok(withinTypos("conseling", "counseling", 1));
  assert.ok(!withinTypos("housing", "hospital", 2));
});

test("a known word is not corrected; an unknown one is, to the stems a typo away", () => {
  const vocabulary = new Set(["counseling", "shelter", "council"]);
  const [known] = concepts("shelter", LEXICON, vocabulary);
  assert.equal(known.byKind.typo.size, 0);
  const [typo] = concepts("conseling", LEXICON, vocabulary);
  assert.ok(typo.byKind.typo.has("counsel") && !typo.byKind.typo.has("council"));
});

test("a program's fields hold its names run together and its needs in Spanish", () => {
  const bank = CASES.services.find((s) => s.name === "Riverton Food Bank");
  const { fields, vocabulary } = programFields(bank, LEXICON);
  assert.ok(fields.A.has("foodbank") && fields.B.has("despensa") && fields.D.has("spanish"));
  assert.ok(!vocabulary.has("foodbank")); // run-together words are not typo targets
});

test("a service's fields are kept between searches, and computed again for another lexicon", () => {
  const services = structuredClone(CASES.services);
  const names = (found) => found.map((f) => f.service.name);
  const first = names(searchPrograms(services, "ambulatorio", LEXICON)); // the term's Spanish name
  assert.deepEqual(first, ["New Paths Outpatient"]);
  assert.deepEqual(names(searchPrograms(services, "ambulatorio", LEXICON)), first);
  const document = data("matching_lexicon.json");
  const englishOnly = prepareLexicon({
    ...document,
    version: "another",
    terms: document.terms.map((t) => ({ ...t, names: { en: t.names.en } })),
  });
  assert.deepEqual(searchPrograms(services, "ambulatorio", englishOnly), []);
});
