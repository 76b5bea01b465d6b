// An agency's own listing: its programs from the directory, the intake (accepting, waiting
// list, not accepting, with an "until" day and a note), "still correct", an edit sent as a merge
// patch with the version read (If-Match), and the emailed one-tap link. Also the pure pieces the
// screens share: how fresh a listing is, the intake in three words, HSDS schedules as a form
// and back, and where a server's refusal belongs in the form.
import { call } from "./api.js";
import { isClosure } from "./hours.js";

// Not checked by its agency for this long, a program is flagged to officers ("may be out of
// date"); the directory asks the agency with the same period (bridges_directory.freshness).
export const STALE_DAYS = 180;
const DAY_MS = 86_400_000;

/** { checked: "2026-10-01" | null, stale } of a program, on `today` ("2026-12-07"). */
export function freshness(service, today = new Date().toISOString().slice(0, 10)) {
  const checked = service.x_bridges?.last_verified ?? null;
  const age = checked ? (Date.parse(`${today}T00:00:00Z`) - Date.parse(`${checked}T00:00:00Z`)) / DAY_MS : Infinity;
  return { checked, stale: age > STALE_DAYS };
}

export const INTAKES = ["accepting", "waitlist", "closed"];
const INTAKE_FIELDS = {
  accepting: { accepting_referrals: true, capacity_status: "available" },
  waitlist: { accepting_referrals: true, capacity_status: "waitlist" },
  closed: { accepting_referrals: false, capacity_status: "full" },
};

/** A program's intake in one of three words, with its "until" day and note. */
export function intakeOf(service) {
  const x = service.x_bridges ?? {};
  const state = x.accepting_referrals === false ? "closed" : x.capacity_status === "waitlist" ? "waitlist" : "accepting";
  return { state, until: x.capacity_until ?? "", note: x.capacity_note ?? "" };
}

/** The body of PATCH .../capacity for an intake chosen on screen (an open intake has no until
 *  and no note: the server forgets them). */
export function capacityBody({ state, until = "", note = "" }) {
  if (state === "accepting") return { ...INTAKE_FIELDS.accepting, capacity_until: null, capacity_note: null };
  return { ...INTAKE_FIELDS[state], capacity_until: until || null, capacity_note: note.trim() || null };
}

// -- hours as a form ----------------------------------------------------------------------

export const WEEK = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const isWeekly = (s) => !isClosure(s) && s.opens_at && s.closes_at && !s.valid_from && !s.valid_to && (s.freq ?? "WEEKLY") === "WEEKLY";

/** A program's own schedules as the form edits them: weekly hours, closures, and the rest
 *  (kept as they are: monthly patterns, seasonal hours). */
export function hoursForm(service) {
  const schedules = service.schedules ?? [];
  return {
    hours: schedules.filter(isWeekly).map((s) => ({
      id: s.id,
      days: (s.byday ?? WEEK.join(",")).split(",").filter((d) => WEEK.includes(d)),
      opens: s.opens_at.slice(0, 5),
      closes: s.closes_at.slice(0, 5),
      timezone: s.timezone,
    })),
    closures: schedules.filter(isClosure).map((s) => ({ id: s.id, from: s.valid_from, to: s.valid_to, reason: s.description ?? "" })),
    kept: schedules.filter((s) => !isWeekly(s) && !isClosure(s)),
  };
}

/** The form back as HSDS schedules, in this order: hours, closures, the rest. */
export function schedulesOf({ hours, closures, kept }) {
  const weekly = hours.map((h) => ({
    id: h.id,
    freq: "WEEKLY",
    byday: WEEK.filter((d) => h.days.includes(d)).join(","),
    opens_at: h.opens,
    closes_at: h.closes,
    ...(h.timezone !== undefined ? { timezone: h.timezone } : {}),
  }));
  const closed = closures.map((c) => ({
    id: c.id,
    valid_from: c.from,
    valid_to: c.to || c.from,
    ...(c.reason.trim() ? { description: c.reason.trim() } : {}),
    x_bridges: { closed: true },
  }));
  return [...weekly, ...closed, ...kept];
}

/** Where a refusal's error belongs in the form: `{ key, message }`, the key naming a field
 *  ("phones.0", "hours.1", "closures.0", "minimum_age", "capacity_until", ...) or "form". */
export function placeError(error, form) {
  const path = (error.location ?? []).filter((part) => part !== "body");
  const message = error.message ?? "";
  const [top, index] = path;
  if (top === "schedules" && Number.isInteger(index)) {
    if (index < form.hours.length) return { key: `hours.${index}`, message };
    if (index < form.hours.length + form.closures.length) return { key: `closures.${index - form.hours.length}`, message };
    return { key: "hours", message };
  }
  if (top === "x_bridges") return { key: path[1] ?? "form", message };
  if (["phones", "required_documents", "service_at_locations"].includes(top)) {
    return { key: Number.isInteger(index) ? `${top}.${index}` : top, message };
  }
  if (top) return { key: top, message };
  // a rule over the whole program names its fields in words ("minimum_age is above maximum_age")
  const named = ["minimum_age", "maximum_age"].find((field) => message.includes(field));
  return { key: named ?? "form", message };
}

export const newId = () => crypto.randomUUID();

// -- the directory API --------------------------------------------------------------------

const json = (config, path) => `${config.directory_url}${path}`;

export async function agencyPrograms(config, session) {
  const url = json(config, `/agencies/${encodeURIComponent(session.user.agency_id)}/services`);
  return (await call(url, { token: session.token })).data;
}

export async function saveListing(config, session, id, version, patch) {
  const url = json(config, `/services/${encodeURIComponent(id)}`);
  const answer = await call(url, { method: "PATCH", token: session.token, body: patch, headers: { "If-Match": `"${version}"` } });
  return { service: answer.data, version: Number(answer.headers.get("ETag")?.replaceAll('"', "")) };
}

export async function setIntake(config, session, id, intake) {
  const url = json(config, `/services/${encodeURIComponent(id)}/capacity`);
  const answer = await call(url, { method: "PATCH", token: session.token, body: capacityBody(intake) });
  return { service: answer.data, version: Number(answer.headers.get("ETag")?.replaceAll('"', "")) };
}

export async function stillCorrect(config, session, id) {
  const url = json(config, `/services/${encodeURIComponent(id)}/confirmation`);
  const answer = await call(url, { method: "POST", token: session.token });
  return { service: answer.data, version: Number(answer.headers.get("ETag")?.replaceAll('"', "")) };
}

export async function confirmByLink(config, token) {
  return (await call(json(config, "/listing-reviews/confirmation"), { method: "POST", body: { token } })).data;
}
