// The agency inbox's state while staff move between the list and a referral: which view, the
// filters, the order, the search; and the referrals that arrived while the inbox was open (marked
// until opened, counted in the tab's title). One store, changed only by the actions below; it
// starts afresh for another user (a search may hold a family's name: never kept for the next).
import { useEffect, useState } from "preact/hooks";

export const VIEWS = ["waiting", "active", "closed"];
// The order each view opens with: the least time left first while an answer is awaited.
const FIRST_ORDER = { waiting: "due", active: "updated", closed: "updated" };
const TITLE = document.title;

let state = fresh(null);
const listeners = new Set();

function fresh(owner) {
  return {
    owner,
    view: "waiting",
    sort: { ...FIRST_ORDER, search: "newest" },
    filters: { status: "", urgency: "", program_id: "" },
    query: "",
    since: Date.now(), // what was filed after this arrived while the inbox was open
    known: new Set(),
    arrived: new Map(), // id → reference, until opened (or answered by a colleague)
  };
}

/** The tab's title counts the arrivals while an inbox screen shows (not on the sign-in page). */
function entitle() {
  const count = listeners.size ? state.arrived.size : 0;
  document.title = count ? `(${count}) ${TITLE}` : TITLE;
}

function change(patch) {
  state = { ...state, ...patch };
  entitle();
  for (const listener of listeners) listener(state);
}

/** The inbox's state for `owner` (the signed-in user's id); re-renders on every change. */
export function useInboxState(owner) {
  if (state.owner !== owner) state = fresh(owner);
  const [current, setCurrent] = useState(state);
  useEffect(() => {
    listeners.add(setCurrent);
    setCurrent(state);
    entitle();
    return () => {
      listeners.delete(setCurrent);
      entitle();
    };
  }, []);
  return current;
}

export const inbox = {
  chooseView: (view) => change({ view, filters: { ...state.filters, status: "" } }),
  sortBy: (sort) => change({ sort: { ...state.sort, [state.query ? "search" : state.view]: sort } }),
  filter: (name, value) => change({ filters: { ...state.filters, [name]: value } }),
  search: (query) => change({ query: query.trim(), filters: { ...state.filters, status: "" } }),
  clearSearch: () => change({ query: "", filters: { ...state.filters, status: "" } }),

  /** What the watcher saw of the referrals not yet opened, newest first: those filed since the
   *  inbox opened and never seen before are arrivals (returned, to be announced once). */
  saw(unopened) {
    const arrivals = unopened.filter((r) => !state.known.has(r.id) && Date.parse(r.created_at) > state.since);
    const waiting = new Set(unopened.map((r) => r.id));
    const arrived = new Map([...state.arrived].filter(([id]) => waiting.has(id))); // opened meanwhile
    for (const r of arrivals) arrived.set(r.id, r.reference);
    const known = new Set([...state.known, ...unopened.map((r) => r.id)]);
    change({ known, arrived });
    return arrivals;
  },

  opened(id) {
    if (!state.arrived.has(id)) return;
    const arrived = new Map(state.arrived);
    arrived.delete(id);
    change({ arrived });
  },
};

/** The order the current list is in. */
export const orderOf = (current) => current.sort[current.query ? "search" : current.view];
