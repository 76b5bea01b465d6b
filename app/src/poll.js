// Lists that change under the user's eyes (the inbox, the officer's referrals) are polled with
// If-None-Match: an unchanged list costs the server a hash and the tablet nothing.
import { useEffect, useRef, useState } from "preact/hooks";
import { call } from "./api.js";
import * as connection from "./connection.js";

export const POLL_MS = 5_000;
const PAGE = 25;

/**
 * A keyset-paged list, refreshed every POLL_MS while visible. "Load more" widens what is
 * refreshed (one request for everything shown), so a referral arriving on top never pushes
 * one off the screen. One request at a time; an answer for an earlier list (another tab of the
 * inbox) is dropped.
 */
export function usePolledList(urlOf, token, deps) {
  const [items, setItems] = useState(null);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const state = useRef({ etag: null, limit: PAGE, busy: false, generation: 0 });

  const refresh = async () => {
    const now = state.current;
    if (now.busy) return;
    now.busy = true;
    const generation = now.generation;
    try {
      const headers = now.etag ? { "If-None-Match": now.etag } : {};
      const answer = await call(urlOf(null, now.limit), { token, headers });
      if (generation !== now.generation) return;
      setError(null);
      if (answer.status === 304) return;
      now.etag = answer.headers.get("ETag");
      setItems(answer.data.items);
      setNext(answer.data.next_cursor);
    } catch (e) {
      if (generation === now.generation) setError(e); // shown beside the last list
    } finally {
      now.busy = false;
    }
  };

  useEffect(() => {
    state.current = { etag: null, limit: PAGE, busy: false, generation: state.current.generation + 1 };
    setItems(null);
    setNext(null);
    setError(null);
    refresh();
    const timer = setInterval(() => document.visibilityState === "visible" && refresh(), POLL_MS);
    // the server answers again: the list is refreshed at once, not at the next tick
    const back = connection.onChange((status) => status === "online" && refresh());
    return () => {
      clearInterval(timer);
      back();
      state.current.generation += 1; // answers still on their way are for a list gone
    };
  }, deps);

  const more = async () => {
    if (!next || loadingMore) return;
    setLoadingMore(true);
    try {
      state.current.limit = Math.min(state.current.limit + PAGE, 200);
      state.current.etag = null;
      state.current.generation += 1; // a shorter answer still on its way must not win
      state.current.busy = false;
      await refresh();
    } finally {
      setLoadingMore(false);
    }
  };
  return { items, next, more, loadingMore, error, refresh };
}
