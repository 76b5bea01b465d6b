// The officer's work that outlives a screen, in one store changed only by the actions below:
// the programs chosen for the next referral (the cart), the referral being written (the draft),
// the last search (with its results and where the list was scrolled to). Screens read it with
// useStore(); drafts.js seals the draft and the cart to IndexedDB whenever they change, so a
// reload, a crash or a lock loses nothing, and nothing personal is ever kept in the clear.
import { useEffect, useState } from "preact/hooks";
import { emptyDraft } from "./referral.js";

const listeners = new Set();
const INITIAL = { cart: [], draft: null, search: null, resumable: null, lastFiled: null };
let state = INITIAL;

export const getState = () => state;

function set(change) {
  state = { ...state, ...change };
  for (const listener of listeners) listener(state);
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The part of the state `select` picks, re-rendered when it changes. */
export function useStore(select) {
  const [value, setValue] = useState(() => select(state));
  useEffect(() => subscribe((now) => setValue(() => select(now))), []);
  return value;
}

// -- the cart --------------------------------------------------------------------------------

/** A program as the cart keeps it: public directory data only. */
export function cartEntry(service, needsOf = () => []) {
  const phone = service.phones?.[0]?.number ?? null;
  return { id: service.id, name: service.name, phone, needs: needsOf(service) };
}

/** Add or take out a program; its needs are ticked in the draft when it is added. */
export function toggleProgram(entry) {
  const has = state.cart.some((p) => p.id === entry.id);
  if (has) return set({ cart: state.cart.filter((p) => p.id !== entry.id) });
  const draft = state.draft ?? emptyDraft();
  const needs = [...draft.needs, ...entry.needs.filter((code) => !draft.needs.includes(code))];
  set({ cart: [...state.cart, entry], draft: { ...draft, needs } });
}

export function dropProgram(id) {
  set({ cart: state.cart.filter((p) => p.id !== id) });
}

// -- the draft -------------------------------------------------------------------------------

export function editDraft(change) {
  set({ draft: { ...(state.draft ?? emptyDraft()), ...change } });
}

export function editConsent(change) {
  const draft = state.draft ?? emptyDraft();
  set({ draft: { ...draft, consent: { ...draft.consent, ...change } } });
}

/** Start a referral from given content (an edited copy, a family referred elsewhere). */
export function startDraft(draft, cart = []) {
  set({ draft, cart, resumable: null });
}

/** Sent or thrown away: the form starts empty again. */
export function discardDraft() {
  set({ draft: null, cart: [], resumable: null, search: state.search && { ...state.search, elsewhere: null } });
}

/** A referral was filed on this tablet: "My referrals" follows it until the server has it. */
export function filed(outboxId) {
  set({ lastFiled: outboxId });
}

/** The officer's sealed work, back after unlocking: offered to resume, not forced on them. */
export function restoreWork({ draft, cart, saved_at: savedAt }) {
  set({ draft, cart: cart ?? [], resumable: { savedAt } });
}

export function dismissResume() {
  set({ resumable: null });
}

// -- the last search -------------------------------------------------------------------------

export function rememberSearch(search) {
  set({ search: { ...(state.search ?? {}), ...search } });
}

/** Lock or sign-out: the work leaves memory (the sealed copy stays for the next unlock). */
export function forgetAll() {
  set(INITIAL);
}
