// How a search's words match a program's words, offline: the rule the directory applies
// (services/directory bridges_directory/matching.py), restated over the directory's lexicon
// (GET /search/lexicon). tests/data/matching_cases.json holds the cases both sides must agree on.
//
//   const lexicon = prepareLexicon(await (await fetch(`${directory}/search/lexicon`)).json());
//   const found = searchPrograms(services, "comida para niños", lexicon); // [{ service, rank }]
//
// Text is folded (lower case, accents removed) and split into words; words are compared by
// their Snowball 2 English stems (a word with a digit is a code, not stemmed). A query keeps its
// meaningful words (stop words dropped, at most rules.max_concepts), each a concept: its stem
// and its synonyms'. A concept whose stem no program (and no synonym group) holds also matches
// the stems of the programs' words (and the groups') within 1 edit of the word as typed from 5
// letters, 2 from 9 (optimal string alignment). A program matches any concept; its rank adds, per concept
// matched, rules.coverage and the best score of where it matched (rules.field_score).
import stemWord from "wink-porter2-stemmer";

const WEIGHTS = ["A", "B", "C", "D"];
const WORD = /[\p{L}\p{N}]+/gu;
const DIGIT = /[0-9]/;

/** Lower case, then every combining mark removed: "Consejería" → "consejeria". */
export function fold(text) {
  return (text ?? "").toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
}

export function words(text) {
  return fold(text).match(WORD) ?? [];
}

const stems = new Map();
/** A folded word's stem; a word with a digit is a code, kept as it is. */
export function stem(word) {
  let found = stems.get(word);
  if (found === undefined) {
    found = DIGIT.test(word) ? word : stemWord(word);
    if (stems.size > 50_000) stems.clear();
    stems.set(word, found);
  }
  return found;
}

const letters = (word) => Array.from(word).length;

/** Edits forgiven in a folded query word: none under 5 letters or with a digit. */
export function maxTypos(word, rules) {
  const n = letters(word);
  if (DIGIT.test(word) || n < rules.typos.one_from_letters || n > rules.vocabulary_word_max + 2) return 0;
  return n < rules.typos.two_from_letters ? 1 : 2;
}

/** Optimal string alignment distance (a swap of two adjacent letters is one edit). */
export function editDistance(a, b) {
  const s = Array.from(a);
  const t = Array.from(b);
  const rows = Array.from({ length: s.length + 1 }, (_, i) => [i, ...Array(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j += 1) rows[0][j] = j;
  for (let i = 1; i <= s.length; i += 1) {
    for (let j = 1; j <= t.length; j += 1) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[s.length][t.length];
}

export function withinTypos(queryStem, candidate, typos) {
  if (typos <= 0 || Math.abs(letters(queryStem) - letters(candidate)) > typos) return false;
  return editDistance(queryStem, candidate) <= typos;
}

/** The served lexicon, ready to match with (sets and maps instead of lists). */
export function prepareLexicon(document) {
  const synonyms = new Map();
  for (const group of document.synonyms) {
    const groupStems = new Set(group.flatMap((w) => words(w)).map(stem));
    for (const s of groupStems) {
      const merged = synonyms.get(s) ?? new Set();
      for (const other of groupStems) merged.add(other);
      synonyms.set(s, merged);
    }
  }
  return {
    version: document.version,
    rules: document.rules,
    stopWords: new Set(Object.values(document.stop_words).flat()),
    queryStopWords: new Set(Object.values(document.query_stop_words).flat()),
    synonyms,
    synonymWords: new Set(document.synonyms.flat().flatMap((w) => words(w))),
    terms: new Map(document.terms.map((t) => [t.id, t])),
    languages: document.languages,
    audiences: document.audiences,
  };
}

const synonymsOf = (lexicon, s) => lexicon.synonyms.get(s) ?? new Set([s]);

// -- a program's side ---------------------------------------------------------------------

function fieldStems(text, lexicon, compounds = false) {
  const tokens = words(text);
  const found = tokens.filter((t) => !lexicon.stopWords.has(t)).map(stem);
  if (compounds) for (let i = 1; i < tokens.length; i += 1) found.push(stem(tokens[i - 1] + tokens[i]));
  return found;
}

function lineage(lexicon, termId) {
  const names = [];
  let current = termId;
  for (let depth = 0; depth < 20 && current && lexicon.terms.has(current); depth += 1) {
    const term = lexicon.terms.get(current);
    names.push(...Object.values(term.names));
    current = term.parent_id;
  }
  return names;
}

function audienceWords(lexicon, minimum, maximum) {
  if (minimum == null && maximum == null) return "";
  const low = minimum || 0;
  const high = maximum == null ? 130 : maximum;
  return lexicon.audiences
    .filter((band) => low <= band.maximum_age && high >= band.minimum_age)
    .map((band) => band.words.join(" "))
    .join(" ");
}

function languageValues(lexicon, languages) {
  const values = [];
  for (const language of languages ?? []) {
    if (language.code) {
      const code = fold(language.code).trim();
      values.push(code, ...(lexicon.languages[code] ?? []));
    }
    if (language.name) values.push(language.name);
  }
  return values;
}

/** The text of each weight of an HSDS service, as the directory indexes it. */
export function searchTexts(service, lexicon) {
  const termIds = [...new Set((service.attributes ?? []).map((a) => a.taxonomy_term_id).filter(Boolean))];
  const places = (service.service_at_locations ?? []).flatMap((link) =>
    (link.location?.addresses ?? []).map((address) => address.city).filter(Boolean),
  );
  return {
    A: [service.name, service.alternate_name].filter(Boolean).join(" "),
    B: service.organization?.name ?? "",
    needs: termIds.flatMap((id) => lineage(lexicon, id)).join(" "),
    C: [service.description, service.eligibility_description].filter(Boolean).join(" "),
    D: [
      ...languageValues(lexicon, service.languages),
      audienceWords(lexicon, service.minimum_age, service.maximum_age),
      ...(service.service_areas ?? []).map((area) => area.name).filter(Boolean),
      ...places,
    ].join(" "),
  };
}

/** The stems each weight of a service holds, and its vocabulary (single words, no digits). */
export function programFields(service, lexicon) {
  const texts = searchTexts(service, lexicon);
  const fields = {
    A: new Set(fieldStems(texts.A, lexicon, true)),
    B: new Set([...fieldStems(texts.B, lexicon, true), ...fieldStems(texts.needs, lexicon)]),
    C: new Set(fieldStems(texts.C, lexicon)),
    D: new Set(fieldStems(texts.D, lexicon)),
  };
  const vocabulary = new Set(
    Object.values(texts)
      .flatMap((text) => words(text))
      .filter((w) => !lexicon.stopWords.has(w) && !DIGIT.test(w) && letters(w) <= lexicon.rules.vocabulary_word_max),
  );
  return { fields, vocabulary };
}

// -- a query's side -----------------------------------------------------------------------

/** The words that say something, each stem once; all but language stop words when none do. */
export function meaningfulWords(text, lexicon) {
  const tokens = words(text);
  let kept = tokens.filter((t) => !lexicon.stopWords.has(t) && !lexicon.queryStopWords.has(t));
  if (!kept.length) kept = tokens.filter((t) => !lexicon.stopWords.has(t));
  const seen = new Set();
  return kept.filter((t) => !seen.has(stem(t)) && seen.add(stem(t))).slice(0, lexicon.rules.max_concepts);
}

/** The query's concepts, typos corrected against `vocabulary` (a Set of the programs' words). */
export function concepts(text, lexicon, vocabulary) {
  const known = new Set([...vocabulary].map(stem));
  return meaningfulWords(text, lexicon).map((word) => {
    const own = stem(word);
    const synonyms = new Set(synonymsOf(lexicon, own));
    synonyms.delete(own);
    const typos = new Set();
    const allowed = maxTypos(word, lexicon.rules);
    if (allowed > 0 && !known.has(own) && !lexicon.synonyms.has(own)) {
      for (const candidate of new Set([...vocabulary, ...lexicon.synonymWords])) {
        if (!withinTypos(word, candidate, allowed)) continue;
        for (const s of synonymsOf(lexicon, stem(candidate))) if (s !== own && !synonyms.has(s)) typos.add(s);
      }
    }
    return { word, stem: own, byKind: { word: new Set([own]), synonym: synonyms, typo: typos } };
  });
}

/** What a concept adds to the rank of a program with these fields (0: it does not match). */
export function conceptScore(concept, fields, rules) {
  let best = 0;
  for (const [kind, kindStems] of Object.entries(concept.byKind)) {
    for (const weight of WEIGHTS) {
      for (const s of kindStems) {
        if (fields[weight].has(s)) {
          best = Math.max(best, rules.field_score[kind][weight]);
          break;
        }
      }
    }
  }
  return best ? rules.coverage + best : 0;
}

export function rank(query, fields, rules) {
  return query.reduce((sum, concept) => sum + conceptScore(concept, fields, rules), 0);
}

const byCodePoint = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// A service object's fields, kept while it lives (the tablet searches the same objects again).
const indexedFields = new WeakMap();
function cachedFields(service, lexicon) {
  const kept = indexedFields.get(service);
  if (kept?.version === lexicon.version) return kept.found;
  const found = programFields(service, lexicon);
  indexedFields.set(service, { version: lexicon.version, found });
  return found;
}

/** Services (HSDS, as GET /services returns them) matching `text`, best first: [{service, rank}]. */
export function searchPrograms(services, text, lexicon) {
  const indexed = services.map((service) => ({ service, ...cachedFields(service, lexicon) }));
  const vocabulary = new Set(indexed.flatMap((entry) => [...entry.vocabulary]));
  const query = concepts(text, lexicon, vocabulary);
  return indexed
    .map(({ service, fields }) => ({ service, rank: rank(query, fields, lexicon.rules) }))
    .filter((found) => found.rank > 0)
    .sort(
      (a, b) =>
        b.rank - a.rank || byCodePoint(a.service.name, b.service.name) || byCodePoint(a.service.id, b.service.id),
    );
}
