// The program directory: searched on the server when there is a signal, and on what this tablet
// last saw when there is none (public data, kept in the clear with the time it was fetched).
// Both ways match words by the same rules (matching.js). A search that finds nothing says which
// filter to loosen, with how many programs that would find (`relaxations`).
import { Problem, call, withQuery } from "./api.js";
import { database } from "./db.js";
import { coordinatesOf, distanceKm, today } from "./hours.js";
import { fold, prepareLexicon, searchPrograms } from "./matching.js";

const KEEP = 800; // programs kept for offline search (the most recently seen)
export const PAGE_SIZE = 20;
export const RADII_KM = [2, 5, 10, 25, 50];
// The directory publishes its programs in this language (HSDS content is not translated):
// screens mark it, so a Spanish screen reader reads an English name as English.
export const CONTENT_LANGUAGE = "en";

export const NEW_FILTERS = {
  text: "",
  term: null,
  place: null,
  radiusKm: 10,
  language: "",
  age: "",
  when: "any", // "any" | "now" | "at"
  openDay: 0, // days from today, with `when: "at"`
  openTime: "17:00",
  accepting: true,
};

/** The instant "open at" means: the chosen day and time on this tablet's clock. */
export function openAtInstant(filters, now = new Date()) {
  const [hours, minutes] = filters.openTime.split(":").map(Number);
  const at = new Date(now.getFullYear(), now.getMonth(), now.getDate() + Number(filters.openDay), hours, minutes);
  return at.toISOString();
}

/** filters: see NEW_FILTERS; place: { lat, lon, label } */
function params(filters, page, perPage = PAGE_SIZE) {
  const place = filters.place;
  return {
    search: filters.text?.trim(),
    taxonomy_term_id: filters.term,
    // two decimals (about 1 km): where the officer stands (often the family's door) stays
    // out of server logs
    lat: place ? Math.round(place.lat * 100) / 100 : undefined,
    lon: place ? Math.round(place.lon * 100) / 100 : undefined,
    radius_km: place ? filters.radiusKm : undefined,
    sort: place ? "distance" : undefined,
    language: filters.language,
    age: filters.age === "" ? undefined : filters.age,
    open_now: filters.when === "now" || undefined,
    open_at: filters.when === "at" ? openAtInstant(filters) : undefined,
    accepting: filters.accepting ? true : undefined,
    page,
    per_page: perPage,
  };
}

export async function search(config, filters, page = 1) {
  try {
    const { data, headers } = await call(withQuery(config.directory_url, "/services", params(filters, page)));
    remember(data.contents).catch(() => {});
    return {
      items: data.contents,
      total: data.total_items,
      lastPage: data.last_page,
      capped: headers.get("Bridges-Results-Capped") !== null,
      offline: false,
    };
  } catch (error) {
    if (error instanceof Problem && !error.transient) throw error;
    return searchCached(filters);
  }
}

/** How many programs a search finds (on the server, or on this tablet when offline). */
async function count(config, filters, offline) {
  if (offline) return (await searchCached(filters)).total;
  const { data } = await call(withQuery(config.directory_url, "/services", params(filters, 1, 1)));
  return data.total_items;
}

/** A search found nothing: each filter that could be loosened, with what that would find
 *  (only those that find something, the gentlest first, at most `limit`). */
export async function relaxations(config, filters, offline, limit = 3) {
  const tries = [];
  if (filters.place) {
    const wider = RADII_KM.filter((km) => km > filters.radiusKm);
    for (const km of wider.slice(0, 2)) tries.push({ kind: "radius", km, filters: { ...filters, radiusKm: km } });
    tries.push({ kind: "anywhere", filters: { ...filters, place: null } });
  }
  if (filters.when !== "any") tries.push({ kind: "any_time", filters: { ...filters, when: "any" } });
  if (filters.language) tries.push({ kind: "any_language", filters: { ...filters, language: "" } });
  if (filters.age !== "") tries.push({ kind: "any_age", filters: { ...filters, age: "" } });
  if (filters.accepting) tries.push({ kind: "not_accepting", filters: { ...filters, accepting: false } });
  if (filters.term) tries.push({ kind: "any_need", filters: { ...filters, term: null } });
  if (filters.text?.trim() && (filters.term || filters.place)) tries.push({ kind: "no_words", filters: { ...filters, text: "" } });
  const found = [];
  for (const one of tries) {
    if (found.length >= limit) break;
    if (one.kind === "anywhere" && found.some((f) => f.kind === "radius")) continue;
    try {
      const total = await count(config, one.filters, offline);
      if (total > 0) found.push({ ...one, total });
    } catch {
      break; // the connection went meanwhile: what was found is enough
    }
  }
  return found;
}

export async function program(config, id) {
  try {
    const { data } = await call(`${config.directory_url}/services/${encodeURIComponent(id)}`);
    remember([data]).catch(() => {});
    return { service: data, offline: false };
  } catch (error) {
    if (error instanceof Problem && !error.transient) throw error;
    const cached = await (await database()).get("programs", id);
    if (!cached) throw error;
    return { service: cached.service, offline: true, asOf: cached.fetched_at };
  }
}

async function remember(services) {
  const db = await database();
  const tx = db.transaction("programs", "readwrite");
  const fetchedAt = new Date().toISOString();
  for (const service of services) await tx.store.put({ id: service.id, service, fetched_at: fetchedAt });
  const count = await tx.store.count();
  if (count > KEEP) {
    let cursor = await tx.store.index("fetched_at").openCursor();
    for (let extra = count - KEEP; cursor && extra > 0; extra -= 1) {
      await cursor.delete();
      cursor = await cursor.continue();
    }
  }
  await tx.done;
}

/** The directory's lexicon (stop words, synonyms, names in each language, the typo rule),
 *  revalidated when online and kept on the tablet, so offline search matches words exactly as
 *  the server does (matching.js). Public data. Null until first fetched. */
let lexiconPrepared = null;
export async function lexicon(config) {
  const db = await database();
  const kept = await db.get("public", "lexicon");
  try {
    const headers = kept?.etag ? { "If-None-Match": kept.etag } : {};
    const answer = await call(`${config.directory_url}/search/lexicon`, { headers });
    if (answer.status !== 304) {
      await db.put("public", { name: "lexicon", etag: answer.headers.get("ETag"), document: answer.data });
      lexiconPrepared = prepareLexicon(answer.data);
    }
  } catch {
    // offline: the copy kept on the tablet
  }
  if (!lexiconPrepared && kept) lexiconPrepared = prepareLexicon(kept.document);
  return lexiconPrepared;
}

let termsKnown = null; // the last taxonomy read, so a screen drawn again has it at once

/** The taxonomy as last read, or [] before the first read (a screen's first drawing). */
export const knownTerms = () => termsKnown ?? [];

/** Every taxonomy term, in the directory's own order (kept for offline use in that order). */
export async function taxonomy(config) {
  const db = await database();
  try {
    const { data } = await call(withQuery(config.directory_url, "/taxonomy_terms", { per_page: 200 }));
    const tx = db.transaction("taxonomy", "readwrite");
    await tx.store.clear();
    for (const [position, term] of data.contents.entries()) await tx.store.put({ ...term, position });
    await tx.done;
    termsKnown = data.contents;
  } catch {
    termsKnown = (await db.getAll("taxonomy")).sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  }
  return termsKnown;
}

/** The needs a family can have: the taxonomy's top-level terms, always in the same order. */
export async function needs(config) {
  return (await taxonomy(config)).filter((term) => !term.parent_id);
}

/** The need codes a program serves: the top-level term above each of its taxonomy terms. */
export function needsOf(service, terms) {
  const byId = new Map(terms.map((term) => [term.id, term]));
  const codes = [];
  for (const attribute of service.attributes ?? []) {
    let term = byId.get(attribute.taxonomy_term_id) ?? attribute.taxonomy_term;
    for (let hops = 0; term?.parent_id && byId.has(term.parent_id) && hops < 10; hops += 1) term = byId.get(term.parent_id);
    if (term && !term.parent_id && term.code && !codes.includes(term.code)) codes.push(term.code);
  }
  return codes;
}

export async function places(config, text) {
  try {
    return (await call(withQuery(config.directory_url, "/places", { q: text, limit: 6 }))).data;
  } catch (error) {
    if (error instanceof Problem && !error.transient) return [];
    return placesCached(text);
  }
}

// -- offline ------------------------------------------------------------------------------


/** Every filter but the words (those rank, in searchCached). */
function matches(service, filters, descendants, atInstant) {
  if (filters.term) {
    const terms = (service.attributes ?? []).map((a) => a.taxonomy_term_id);
    if (!terms.some((id) => descendants.has(id))) return false;
  }
  if (filters.language) {
    const wanted = fold(filters.language);
    if (!(service.languages ?? []).some((l) => fold(l.code) === wanted || fold(l.name).startsWith(wanted))) return false;
  }
  if (filters.age !== undefined && filters.age !== "") {
    const age = Number(filters.age);
    if (service.minimum_age != null && age < service.minimum_age) return false;
    if (service.maximum_age != null && age > service.maximum_age) return false;
  }
  if (filters.accepting && service.x_bridges?.accepting_referrals === false) return false;
  if (atInstant && !today(service, atInstant).open) return false;
  return true;
}

async function searchCached(filters) {
  const db = await database();
  const rows = await db.getAll("programs");
  const terms = await db.getAll("taxonomy");
  const descendants = new Set(filters.term ? [filters.term] : []);
  for (let grew = true; grew; ) {
    grew = false;
    for (const term of terms) {
      if (term.parent_id && descendants.has(term.parent_id) && !descendants.has(term.id)) {
        descendants.add(term.id);
        grew = true;
      }
    }
  }
  const atInstant = filters.when === "now" ? new Date() : filters.when === "at" ? new Date(openAtInstant(filters)) : null;
  const place = filters.place;
  let kept = rows.filter((row) => matches(row.service, filters, descendants, atInstant));
  const text = filters.text?.trim();
  const ranks = new Map();
  if (text) {
    // the words match as on the server, by the directory's own lexicon
    const known = lexiconPrepared ?? (await lexiconKept());
    const ranked = known ? searchPrograms(kept.map((row) => row.service), text, known) : [];
    for (const { service, rank } of ranked) ranks.set(service.id, rank);
    kept = kept.filter((row) => ranks.has(row.service.id));
  }
  let found = kept.map((row) => {
    const at = coordinatesOf(row.service);
    const distance = place && at ? distanceKm(place, at) : null;
    const service = { ...row.service, x_bridges: { ...row.service.x_bridges, distance_km: distance } };
    return { service, fetched_at: row.fetched_at, distance, rank: ranks.get(row.service.id) ?? 0 };
  });
  if (place) {
    found = found.filter((r) => r.distance !== null && (!filters.radiusKm || r.distance <= filters.radiusKm));
    found.sort((a, b) => a.distance - b.distance);
  } else if (text) {
    found.sort((a, b) => b.rank - a.rank || a.service.name.localeCompare(b.service.name));
  } else {
    found.sort((a, b) => a.service.name.localeCompare(b.service.name));
  }
  const asOf = found.reduce((oldest, r) => (oldest && oldest < r.fetched_at ? oldest : r.fetched_at), null);
  return { items: found.map((r) => r.service), total: found.length, lastPage: true, offline: true, asOf };
}

async function lexiconKept() {
  const kept = await (await database()).get("public", "lexicon");
  lexiconPrepared = kept ? prepareLexicon(kept.document) : null;
  return lexiconPrepared;
}

const PLACE_ORDER = { postal_code: 0, city: 1, address: 2 };

/** Places on this tablet, as the server orders them: postal codes, then towns (the centre of
 *  their programs), then street addresses. */
async function placesCached(text) {
  const wanted = fold(text).trim();
  const towns = new Map();
  const found = new Map();
  for (const row of await (await database()).getAll("programs")) {
    for (const link of row.service.service_at_locations ?? []) {
      const location = link.location ?? {};
      if (location.latitude == null) continue;
      for (const address of location.addresses ?? []) {
        const point = [Number(location.latitude), Number(location.longitude)];
        if (address.postal_code && fold(address.postal_code).startsWith(wanted)) {
          const label = `${address.city ?? ""}, ${address.state_province ?? ""} ${address.postal_code}`.trim();
          add(towns, `zip:${address.postal_code}`, { label, kind: "postal_code" }, point);
        }
        if (address.city && fold(address.city).startsWith(wanted)) {
          add(towns, `city:${fold(address.city)}`, { label: `${address.city}${address.state_province ? `, ${address.state_province}` : ""}`, kind: "city" }, point);
        }
        if (address.address_1 && fold(address.address_1).includes(wanted)) {
          const label = `${address.address_1}, ${address.city ?? ""}`;
          if (!found.has(label)) found.set(label, { label, kind: "address", latitude: point[0], longitude: point[1] });
        }
      }
    }
  }
  const centres = [...towns.values()].map(({ place, points }) => ({
    ...place,
    latitude: points.reduce((s, p) => s + p[0], 0) / points.length,
    longitude: points.reduce((s, p) => s + p[1], 0) / points.length,
  }));
  return [...centres, ...found.values()].sort((a, b) => PLACE_ORDER[a.kind] - PLACE_ORDER[b.kind]).slice(0, 6);
}

function add(groups, key, place, point) {
  const group = groups.get(key) ?? { place, points: [] };
  group.points.push(point);
  groups.set(key, group);
}
