// A small typed-by-convention t(): English and Spanish bundled (so both work offline), the
// choice kept on the tablet, <html lang> kept in step. A missing key shows as ⟦key⟧.
import en from "./locales/en.json";
import es from "./locales/es.json";

export const CATALOGS = { en, es };
export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "es", name: "Español" },
];
const KEY = "bridges.language";
let current = "en";
const listeners = new Set();

export function initLanguage() {
  const saved = localStorage.getItem(KEY);
  const preferred = (navigator.language || "en").slice(0, 2);
  setLanguage(CATALOGS[saved] ? saved : CATALOGS[preferred] ? preferred : "en");
}

export function setLanguage(code) {
  current = CATALOGS[code] ? code : "en";
  localStorage.setItem(KEY, current);
  document.documentElement.lang = current;
  for (const listener of listeners) listener(current);
}

export const language = () => current;
export function onLanguage(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function t(key, params = {}) {
  const text = CATALOGS[current][key] ?? en[key];
  if (text === undefined) return `⟦${key}⟧`;
  return text.replace(/\{(\w+)\}/g, (_, name) => (params[name] ?? `{${name}}`).toString());
}

/** A number as the page's language writes it (5,120.7 in English, 5.120,7 in Spanish). */
export function formatNumber(value, fractionDigits = 0) {
  return new Intl.NumberFormat(current, {
    minimumFractionDigits: fractionDigits,
    maximumFractionDigits: fractionDigits,
  }).format(value);
}

/** A language's name in the page's language ("es" is "Spanish" in English, "español" in
 *  Spanish), from the browser's own data; the code itself when the browser has no name. */
export function languageName(code) {
  try {
    return new Intl.DisplayNames([current], { type: "language" }).of(code) ?? code;
  } catch {
    return code;
  }
}

export function formatTime(value) {
  return new Intl.DateTimeFormat(current, { timeStyle: "short" }).format(new Date(value));
}

export function formatDateTime(value) {
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(new Date(value));
}

/** A calendar day ("2026-10-01") as the page's language writes it, the same day everywhere
 *  (a date alone is no instant: never shifted by the tablet's time zone). */
export function formatDate(isoDate) {
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${isoDate}T00:00:00Z`));
}

/** "in 2 h 5 min" / "5 min ago" style durations, for the response clock. */
export function formatDuration(ms) {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days) return t("duration.days_hours", { days, hours });
  if (hours) return t("duration.hours_minutes", { hours, minutes: rest });
  return t("duration.minutes", { minutes: rest });
}

/** A translation when the catalog has one, else the given text (e.g. a taxonomy term's name). */
export function tOr(key, fallback) {
  return CATALOGS[current][key] ?? fallback;
}
