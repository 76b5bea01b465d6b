// Whether Bridges' servers answer, as the requests themselves tell (navigator.onLine says only
// whether the device has a network: on weak Wi-Fi or behind a captive portal it says "online"
// while every request fails). States: "online" (the last request was answered), "offline" (no
// network at all), "unreachable" (a network, but no answer from Bridges). While not online a
// light probe asks the server again, sooner when the network comes back; the moment an answer
// arrives, listeners are told (lists refresh, the outbox sends).
const PROBE_FIRST_MS = 5_000;
const PROBE_MAX_MS = 60_000;

const hasWindow = typeof window !== "undefined";
let status = !hasWindow || navigator.onLine !== false ? "online" : "offline";
let probeUrl = null;
let timer = null;
let wait = PROBE_FIRST_MS;
const listeners = new Set();

export const current = () => status;

export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function set(next) {
  if (next === status) return;
  const was = status;
  status = next;
  for (const listener of listeners) listener(next, was);
  if (next === "online") {
    clearTimeout(timer);
    timer = null;
    wait = PROBE_FIRST_MS;
  } else schedule();
}

/** A request got an answer from the server (whatever its status). */
export const answered = () => set("online");

/** A request got no answer (no network, timed out, or not Bridges answering). */
export const unanswered = () => set(hasWindow && navigator.onLine === false ? "offline" : "unreachable");

function schedule() {
  if (timer || !probeUrl || status === "online") return;
  timer = setTimeout(probe, wait);
  wait = Math.min(wait * 2, PROBE_MAX_MS);
}

async function probe() {
  timer = null;
  try {
    const response = await fetch(probeUrl, { cache: "no-store", credentials: "omit", signal: AbortSignal.timeout(8_000) });
    if (response.ok && (response.headers.get("Content-Type") || "").includes("json")) return set("online");
  } catch {
    // still no answer: probe again later
  }
  unanswered();
  schedule();
}

/** Start watching: `url` answers quickly when the server is up (its /healthz). */
export function watch(url) {
  probeUrl = url;
  if (!hasWindow) return;
  addEventListener("offline", () => set("offline"));
  addEventListener("online", () => {
    // a network again: ask now rather than wait for the next probe
    clearTimeout(timer);
    timer = null;
    wait = PROBE_FIRST_MS;
    probe();
  });
  if (status !== "online") schedule();
}
