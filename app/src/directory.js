// The program directory: searched on the server when there is a signal, and on what this tablet
// last saw when there is none (public data, kept in the clear with the time it was fetched).
import { Problem, call, withQuery } from "./api.js";
import { database } from "./db.js";
import { coordinatesOf, distanceKm, today } from "./hours.js";

const KEEP = 800; // programs kept for offline search (the most recently seen)
export const PAGE_SIZE = 20;

/** filters: { text, term, place: {lat, lon, label}, radiusKm, language, age, openNow, accepting } */
function params(filters, page) {
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
    open_now: filters.openNow || undefined,
    accepting: filters.accepting ? true : undefined,
    page,
    per_page: PAGE_SIZE,
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

export async function taxonomy(config) {
  const db = await database();
  try {
    const { data } = await call(withQuery(config.directory_url, "/taxonomy_terms", { per_page: 200 }));
    const tx = db.transaction("taxonomy", "readwrite");
    for (const term of data.contents) await tx.store.put(term);
    await tx.done;
    return data.contents;
  } catch {
    return db.getAll("taxonomy");
  }
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

const fold = (text) =>
  (text ?? "")
    .toLowerCase()
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "");

/** Words match with one typo allowed in words of 4 letters or more. */
export function closeEnough(word, candidate) {
  if (candidate.startsWith(word)) return true;
  if (word.length < 4 || Math.abs(word.length - candidate.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < word.length && j < candidate.length) {
    if (word[i] === candidate[j]) {
      i += 1;
      j += 1;
      continue;
    }
    edits += 1;
    if (edits > 1) return false;
    if (word.length > candidate.length) i += 1;
    else if (word.length < candidate.length) j += 1;
    else {
      i += 1;
      j += 1;
    }
  }
  return edits + (word.length - i) + (candidate.length - j) <= 1;
}

function textOf(service) {
  const terms = (service.attributes ?? []).map((a) => a.taxonomy_term?.name ?? "");
  return fold([service.name, service.description, service.organization?.name, ...terms].join(" "))
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

function matches(service, filters, descendants) {
  const words = fold(filters.text).split(/[^a-z0-9]+/).filter((w) => w.length > 1);
  if (words.length) {
    const own = textOf(service);
    if (!words.every((word) => own.some((candidate) => closeEnough(word, candidate)))) return false;
  }
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
  if (filters.openNow && !today(service).open) return false;
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
  const place = filters.place;
  let found = rows
    .filter((row) => matches(row.service, filters, descendants))
    .map((row) => {
      const at = coordinatesOf(row.service);
      const distance = place && at ? distanceKm(place, at) : null;
      const service = { ...row.service, x_bridges: { ...row.service.x_bridges, distance_km: distance } };
      return { service, fetched_at: row.fetched_at, distance };
    });
  if (place) {
    found = found.filter((r) => r.distance !== null && (!filters.radiusKm || r.distance <= filters.radiusKm));
    found.sort((a, b) => a.distance - b.distance);
  } else {
    found.sort((a, b) => a.service.name.localeCompare(b.service.name));
  }
  const asOf = found.reduce((oldest, r) => (oldest && oldest < r.fetched_at ? oldest : r.fetched_at), null);
  return { items: found.map((r) => r.service), total: found.length, lastPage: true, offline: true, asOf };
}

async function placesCached(text) {
  const wanted = fold(text).trim();
  const seen = new Map();
  for (const row of await (await database()).getAll("programs")) {
    for (const link of row.service.service_at_locations ?? []) {
      const location = link.location ?? {};
      for (const address of location.addresses ?? []) {
        const label = `${address.address_1 ?? ""}, ${address.city ?? ""} ${address.postal_code ?? ""}`;
        const hit = [address.postal_code, address.city, address.address_1].some((v) => v && fold(v).startsWith(wanted));
        if (hit && location.latitude != null && !seen.has(label)) {
          seen.set(label, { label, kind: "address", latitude: location.latitude, longitude: location.longitude });
        }
      }
    }
  }
  return [...seen.values()].slice(0, 6);
}
