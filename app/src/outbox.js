// Referrals filed on this tablet, until the server has them. The page sends them itself (at
// start, when the connection returns, on a timer, on "Send now", and on a Background Sync
// wake-up where the browser has one), one at a time, in one tab at a time (Web Locks).
//
// An item is frozen when filed: its id and Idempotency-Key are made here, before any send, and
// its sealed body never changes. A resend is therefore harmless (the server answers the first
// result again) and different content can never go out under the same key.
//
//   waiting ──send──► sent ──2xx──► confirmed
//      ▲               │ no answer, 5xx, 429: waiting again (resent later under the same key)
//      └───────────────┤ 401: stays until the officer signs in again
//                      └──4xx──► refused  (shown with the server's reason; never resent)
// "sent" lasts while a request is out; a page closed meanwhile leaves it "sent", and the
// next flush sends it again (the server answers the first result).
import { Problem, Unreachable, call } from "./api.js";
import { database } from "./db.js";
import * as vault from "./vault.js";

export const RETRY_CAP_MS = 5 * 60_000;
export const STALE_AFTER_MS = 3 * 3600_000; // unsent this long: the officer is warned

const listeners = new Set();
// other tabs send too: what changes there is re-read here
const tabs = typeof window === "undefined" || !window.BroadcastChannel ? null : new BroadcastChannel("bridges-outbox");
if (tabs) tabs.onmessage = () => listeners.forEach((listener) => listener());

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
function changed() {
  for (const listener of listeners) listener();
  tabs?.postMessage("changed");
}

export function backoff(attempts, retryAfterS) {
  if (retryAfterS > 0) return Math.min(retryAfterS * 1000, RETRY_CAP_MS);
  const base = Math.min(5_000 * 2 ** Math.max(0, attempts - 1), RETRY_CAP_MS);
  return base / 2 + Math.random() * (base / 2);
}

/** File a referral on this tablet: sealed, frozen, waiting to send. */
export async function file(owner, body, label) {
  const id = crypto.randomUUID();
  const item = {
    id,
    owner,
    idempotency_key: `tablet-${id}`,
    created_at: new Date().toISOString(),
    state: "waiting",
    attempts: 0,
    next_attempt_at: 0,
    error: null,
    result: null,
    sealed: await vault.seal({ body, label }),
  };
  await (await database()).put("outbox", item);
  changed();
  return item;
}

export async function items(owner) {
  const all = await (await database()).getAllFromIndex("outbox", "owner", owner);
  return all.sort((a, b) => a.created_at.localeCompare(b.created_at));
}

export async function unsent(owner) {
  return (await items(owner)).filter((item) => item.state === "waiting" || item.state === "sent");
}

/** What a row shows: the family's label only while the vault is open. */
export async function reveal(item) {
  if (!item.sealed || !vault.unlockedFor(item.owner)) return null;
  return vault.open(item.sealed);
}

async function update(id, change) {
  const db = await database();
  const tx = db.transaction("outbox", "readwrite");
  const item = await tx.store.get(id);
  if (item) await tx.store.put({ ...item, ...change });
  await tx.done;
  changed();
}

export async function discard(id) {
  await (await database()).delete("outbox", id);
  changed();
}

export const KEEP_CONFIRMED_MS = 30 * 86_400_000;

/** Confirmed long ago: the tablet forgets even the family's sealed name. */
export async function forgetOldConfirmed(owner, now = Date.now()) {
  for (const item of await items(owner)) {
    // the first release kept no confirmed_at: when it was filed (a little earlier) serves
    const confirmedAt = Date.parse(item.confirmed_at ?? item.created_at);
    if (item.state === "confirmed" && now - confirmedAt > KEEP_CONFIRMED_MS) {
      await discard(item.id);
    }
  }
}

/** Family names (sealed on this tablet) by the server's referral id, while unlocked. */
export async function familyNames(owner) {
  const names = new Map();
  if (!vault.unlockedFor(owner)) return names;
  for (const item of await items(owner)) {
    if (item.state !== "confirmed" || !item.sealed) continue;
    const { label } = await vault.open(item.sealed);
    for (const id of item.result.referral_ids) names.set(id, label.family);
  }
  return names;
}

let pending = null; // this tab's flush, waiting for the lock or sending

/** The access token can still be used (a minute's margin). */
export function usable(session) {
  return Boolean(session?.token) && session.expiresAt > Date.now() + 60_000;
}

/**
 * Send what is due, one at a time. Returns why it stopped: "done", "locked" (unlock first),
 * "offline", "server" (try later) or "signed-out" (sign in again first). `force` ignores the
 * backoff (the officer pressed "Send now", a referral was just filed, the connection returned).
 *
 * Tabs queue for one Web Lock: a tab that gets it after another re-reads every item's state
 * first, so what the other sent is not sent again. A trigger in a tab whose flush is already
 * running makes that flush go round once more (with the newest session) when it ends.
 */
export function flush({ config, session, force = false }) {
  const owner = session.user.id;
  if (!vault.unlockedFor(owner)) return Promise.resolve("locked");
  if (!usable(session)) return Promise.resolve("signed-out");
  if (globalThis.navigator?.onLine === false) return Promise.resolve("offline"); // nothing leaves
  if (pending) {
    pending.again = { config, session, force: force || pending.again?.force };
    return pending.done;
  }
  const run = { again: null };
  const rounds = async () => {
    let ask = { config, session, force };
    let outcome = "done";
    while (ask) {
      run.again = null;
      outcome = await sendDue(ask.config, ask.session, ask.force);
      ask = outcome === "done" ? run.again : null;
    }
    return outcome;
  };
  const locks = globalThis.navigator?.locks; // none outside a browser (node's tests): one sender
  run.done = (locks ? locks.request(`bridges-outbox:${owner}`, rounds) : rounds()).finally(() => {
    pending = null;
  });
  pending = run;
  return run.done;
}

async function sendDue(config, session, force) {
  const now = Date.now();
  for (const item of await unsent(session.user.id)) {
    if (!force && item.next_attempt_at > now) continue;
    const outcome = await sendOne(config, session, item);
    if (outcome !== "done") return outcome;
  }
  return "done";
}

async function sendOne(config, session, item) {
  const attempts = item.attempts + 1;
  let sealedLabel;
  let data;
  try {
    const { body, label } = await vault.open(item.sealed);
    sealedLabel = await vault.seal({ label });
    await update(item.id, { state: "sent", attempts, last_attempt_at: new Date().toISOString() });
    ({ data } = await call(`${config.referrals_url}/referrals`, {
      method: "POST",
      token: session.token,
      body,
      headers: { "Idempotency-Key": item.idempotency_key },
    }));
  } catch (error) {
    return failed(item, attempts, error);
  }
  await update(item.id, {
    state: "confirmed",
    // the server holds the referral now: the tablet keeps only the family's name (sealed),
    // to show beside the server's list, which carries no personal data
    sealed: sealedLabel,
    error: null,
    confirmed_at: new Date().toISOString(),
    result: {
      case_id: data?.case_id,
      referral_ids: (data?.referrals ?? []).map((r) => r.id),
      // the short references the family and the agencies quote on the phone (not personal)
      references: (data?.referrals ?? []).map((r) => r.reference).filter(Boolean),
    },
  });
  return "done";
}

async function failed(item, attempts, error) {
  const later = (retryAfterS = 0) => Date.now() + backoff(attempts, retryAfterS);
  if (error instanceof vault.Locked) {
    await update(item.id, { state: "waiting" }); // locked meanwhile: sent again after unlocking
    return "locked";
  }
  if (error instanceof Unreachable) {
    // no answer: it may not have left the tablet; it waits, and goes again under its key
    await update(item.id, { state: "waiting", next_attempt_at: later() });
    return "offline";
  }
  if (!(error instanceof Problem)) {
    // our own fault (a damaged record, an odd answer): this item waits, the others still go
    console.error("outbox: could not send", item.id, error);
    await update(item.id, { state: "waiting", next_attempt_at: later() });
    return "done";
  }
  if (error.status === 401) {
    await update(item.id, { state: "waiting", next_attempt_at: later() }); // after signing in
    return "signed-out";
  }
  if (error.transient) {
    await update(item.id, { state: "waiting", next_attempt_at: later(error.retryAfterS) });
    return "server";
  }
  const { title, detail, errors } = error.problem;
  await update(item.id, { state: "refused", error: { status: error.status, title, detail, errors } });
  return "done"; // the next item may still go
}
