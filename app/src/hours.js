// Today's opening hours and "open now" from HSDS weekly schedules, in the location's time zone.
const DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];

function zoneOf(service) {
  for (const link of service.service_at_locations ?? []) {
    const zone = link.location?.x_bridges?.timezone;
    if (zone) return zone;
  }
  return undefined;
}

/** The weekday ("MO") and "HH:MM" at `now` in `zone` (the tablet's own zone when unknown). */
export function localClock(now, zone) {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(now);
  const get = (type) => parts.find((p) => p.type === type)?.value ?? "";
  return { day: get("weekday").slice(0, 2).toUpperCase(), time: `${get("hour")}:${get("minute")}` };
}

function schedulesOf(service) {
  const own = service.schedules ?? [];
  const atLocations = (service.service_at_locations ?? []).flatMap((link) => link.schedules ?? []);
  return [...own, ...atLocations].filter((s) => s.opens_at && s.closes_at);
}

/** { known, open, spans: ["10:00–18:00"] } for today; `known` is false without schedules. */
export function today(service, now = new Date()) {
  const schedules = schedulesOf(service);
  if (!schedules.length) return { known: false, open: null, spans: [] };
  let clock;
  try {
    clock = localClock(now, zoneOf(service));
  } catch {
    clock = localClock(now, undefined);
  }
  const todays = schedules.filter((s) => (s.byday ?? DAYS.join(",")).split(",").includes(clock.day));
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
