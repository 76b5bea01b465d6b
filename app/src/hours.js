// Today's opening hours and "open now" from HSDS weekly schedules, in the location's time zone:
// a schedule counts only on the dates it is valid, and a closure (a schedule marked
// `x_bridges.closed`, valid from its first to its last day) closes the program all day.
const DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];

function zoneOf(service) {
  for (const link of service.service_at_locations ?? []) {
    const zone = link.location?.x_bridges?.timezone;
    if (zone) return zone;
  }
  return undefined;
}

/** The weekday ("MO"), "HH:MM" and the date ("2026-12-24") at `now` in `zone` (the tablet's
 *  own zone when unknown). */
export function localClock(now, zone) {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    weekday: "short",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(now);
  const get = (type) => parts.find((p) => p.type === type)?.value ?? "";
  return {
    day: get("weekday").slice(0, 2).toUpperCase(),
    time: `${get("hour")}:${get("minute")}`,
    date: `${get("year")}-${get("month")}-${get("day")}`,
  };
}

function allSchedules(service) {
  const own = service.schedules ?? [];
  const atLocations = (service.service_at_locations ?? []).flatMap((link) => link.schedules ?? []);
  return [...own, ...atLocations];
}

export const isClosure = (schedule) => schedule?.x_bridges?.closed === true;

/** The program's closures, soonest first (past ones too; `upcoming` keeps those not over). */
export function closuresOf(service, { from = null } = {}) {
  return allSchedules(service)
    .filter((s) => isClosure(s) && s.valid_from && s.valid_to && (!from || s.valid_to >= from))
    .sort((a, b) => a.valid_from.localeCompare(b.valid_from));
}

const validOn = (schedule, date) =>
  (!schedule.valid_from || schedule.valid_from <= date) && (!schedule.valid_to || date <= schedule.valid_to);

/** { known, open, spans: ["10:00–18:00"], closure } for today; `known` is false without
 *  schedules; `closure` is today's closure (then closed all day). */
export function today(service, now = new Date()) {
  const schedules = allSchedules(service).filter((s) => s.opens_at && s.closes_at);
  if (!schedules.length) return { known: false, open: null, spans: [] };
  let clock;
  try {
    clock = localClock(now, zoneOf(service));
  } catch {
    clock = localClock(now, undefined);
  }
  const closure = closuresOf(service).find((s) => validOn(s, clock.date));
  if (closure) return { known: true, open: false, spans: [], closure };
  const todays = schedules.filter(
    (s) => validOn(s, clock.date) && (s.byday ?? DAYS.join(",")).split(",").includes(clock.day),
  );
  const spans = todays.map((s) => `${s.opens_at.slice(0, 5)}–${s.closes_at.slice(0, 5)}`);
  const open = todays.some((s) => {
    const [opens, closes] = [s.opens_at.slice(0, 5), s.closes_at.slice(0, 5)];
    // overnight (a shelter open 19:00–07:00): open after opening or before closing
    return closes > opens ? opens <= clock.time && clock.time < closes : clock.time >= opens || clock.time < closes;
  });
  return { known: true, open, spans };
}

export function distanceKm(a, b) {
  const rad = (deg) => (deg * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

export function coordinatesOf(service) {
  for (const link of service.service_at_locations ?? []) {
    const { latitude, longitude } = link.location ?? {};
    if (latitude != null && longitude != null) return { lat: latitude, lon: longitude };
  }
  return null;
}
