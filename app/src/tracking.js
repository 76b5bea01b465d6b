// The officer's referrals as the server last told: refreshed every POLL_MS while signed in
// (with If-None-Match: an unchanged list costs a 304), at once when the connection comes back or
// a referral from this tablet is confirmed; kept sealed on the tablet (personal.js) so the
// statuses stay readable offline; and which ones changed since the officer last looked (a
// decline arriving is marked on "My referrals" and on the referral itself).
import { useEffect, useState } from "preact/hooks";
import { call, withQuery } from "./api.js";
import * as connection from "./connection.js";
import * as outbox from "./outbox.js";
import * as personal from "./personal.js";

const POLL_MS = 15_000;
const LIMIT = 200;

const EMPTY = { items: null, fetchedAt: null, offline: false, error: null, seen: {}, changed: new Set() };
let state = EMPTY;
let running = null; // { owner, config, session, timer, etag, stops }
const listeners = new Set();

function set(change) {
  state = { ...state, ...change };
  state.changed = changedIds(state.items ?? [], state.seen);
  for (const listener of listeners) listener(state);
}

/** Referrals whose version moved on since the officer last looked at them. */
function changedIds(items, seen) {
  return new Set(items.filter((r) => seen[r.id] !== undefined && r.version > seen[r.id]).map((r) => r.id));
}

export function useTracking() {
  const [now, setNow] = useState(state);
  useEffect(() => {
    listeners.add(setNow);
    setNow(state);
    return () => listeners.delete(setNow);
  }, []);
  return now;
}

async function refresh() {
  const run = running;
  if (!run) return;
  if (run.busy) {
    run.again = true; // asked for while a request is out (e.g. "online", then "confirmed"):
    return; // the list may already be stale when that answer arrives, so ask once more after it
  }
  run.busy = true;
  run.again = false;
  try {
    const headers = run.etag ? { "If-None-Match": run.etag } : {};
    const url = withQuery(run.config.referrals_url, "/referrals", { mine: true, sort: "updated", limit: LIMIT });
    const answer = await call(url, { token: run.session.token, headers });
    if (run !== running) return;
    if (answer.status === 304) return set({ offline: false, error: null });
    run.etag = answer.headers.get("ETag");
    const items = answer.data.items;
    // a referral seen for the first time is the officer's own new one: nothing changed yet
    const seen = { ...state.seen };
    let grew = false;
    for (const r of items) {
      if (seen[r.id] === undefined) {
        seen[r.id] = r.version;
        grew = true;
      }
    }
    set({ items, fetchedAt: new Date().toISOString(), offline: false, error: null, seen });
    personal.keep(run.owner, "referrals", { items, fetchedAt: state.fetchedAt }).catch(() => {});
    if (grew) personal.keep(run.owner, "seen", seen).catch(() => {});
  } catch (error) {
    if (run === running) set({ offline: error?.status === undefined, error });
  } finally {
    run.busy = false;
    if (run.again && run === running) refresh();
  }
}

/** Start following `session`'s referrals (an unlocked officer). */
export async function start(config, session) {
  const owner = session.user.id;
  if (running?.owner === owner) {
    running.session = session;
    running.config = config;
    return;
  }
  stop();
  const run = { owner, config, session, timer: null, etag: null, busy: false, again: false, stops: [] };
  running = run;
  const [kept, seen] = await Promise.all([personal.read(owner, "referrals"), personal.read(owner, "seen")]);
  if (run !== running) return;
  set({ ...EMPTY, items: kept?.value.items ?? null, fetchedAt: kept?.value.fetchedAt ?? null, seen: seen?.value ?? {} });
  run.timer = setInterval(() => document.visibilityState === "visible" && refresh(), POLL_MS);
  run.stops.push(connection.onChange((status) => status === "online" && refresh()));
  run.stops.push(outbox.subscribe(() => refresh()));
  refresh();
}

/** A newer token (renewed): the next request uses it. */
export function renewed(session) {
  if (running && running.owner === session.user.id) running.session = session;
}

export function stop() {
  if (!running) return;
  clearInterval(running.timer);
  for (const unsubscribe of running.stops) unsubscribe();
  running = null;
  set(EMPTY);
}

export const refreshNow = () => refresh();

/** The officer looked at these referrals as they are now. */
export function markSeen(referrals) {
  if (!running) return;
  const seen = { ...state.seen };
  for (const r of referrals) seen[r.id] = Math.max(seen[r.id] ?? 0, r.version);
  set({ seen });
  personal.keep(running.owner, "seen", seen).catch(() => {});
}
