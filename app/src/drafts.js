// The referral being written survives a reload, a crash and a lock: whenever the draft or the
// chosen programs change, they are sealed to IndexedDB (personal.js, kind "draft") a moment
// later, for the signed-in, unlocked officer only. After unlocking, the sealed work comes back
// to the store and the officer is offered to resume it.
import * as personal from "./personal.js";
import { emptyDraft } from "./referral.js";
import * as store from "./store.js";

const SAVE_AFTER_MS = 300;
let attached = null; // { owner, unsubscribe, timer, saving }

const isEmpty = (draft, cart) =>
  !cart.length && (!draft || JSON.stringify({ ...draft, consent: null }) === JSON.stringify({ ...emptyDraft(), consent: null }));

async function save(owner, { draft, cart }) {
  if (isEmpty(draft, cart)) await personal.forget(owner, "draft");
  else await personal.keep(owner, "draft", { draft, cart });
}

/** Start keeping `owner`'s work (after unlocking); returns once the sealed work is back. */
export async function attach(owner) {
  detach();
  const kept = await personal.read(owner, "draft");
  if (kept && !isEmpty(kept.value.draft, kept.value.cart ?? [])) {
    store.restoreWork({ ...kept.value, saved_at: kept.saved_at });
  }
  let last = store.getState();
  const watching = { owner, timer: null, saving: Promise.resolve() };
  watching.unsubscribe = store.subscribe((now) => {
    if (now.draft === last.draft && now.cart === last.cart) return;
    last = now;
    clearTimeout(watching.timer);
    watching.timer = setTimeout(() => {
      watching.timer = null;
      watching.saving = watching.saving.then(() => save(owner, now)).catch((error) => console.error("draft: not saved", error));
    }, SAVE_AFTER_MS);
  });
  attached = watching;
}

/** Save at once what is waiting (before a lock takes the key away). */
export async function flushNow() {
  if (!attached) return;
  if (attached.timer) {
    clearTimeout(attached.timer);
    attached.timer = null;
    const { owner } = attached;
    attached.saving = attached.saving.then(() => save(owner, store.getState()));
  }
  await attached.saving.catch(() => {});
}

export function detach() {
  attached?.unsubscribe();
  if (attached?.timer) clearTimeout(attached.timer);
  attached = null;
}
