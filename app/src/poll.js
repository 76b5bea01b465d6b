// Lists that change under the user's eyes (the inbox, the officer's referrals) are polled with
// If-None-Match: an unchanged list costs the server a hash and the tablet nothing.
import { useEffect, useRef, useState } from "preact/hooks";
import { call } from "./api.js";

export const POLL_MS = 5_000;

/** Pages of a keyset-paged list, the first page refreshed every POLL_MS while visible. */
export function usePolledList(urlOf, token, deps) {
  const [items, setItems] = useState(null);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const etag = useRef(null);
  const extra = useRef([]); // pages after the first, loaded on request

  const first = async () => {
    try {
      const headers = etag.current ? { "If-None-Match": etag.current } : {};
      const answer = await call(urlOf(null), { token, headers });
      setError(null);
      if (answer.status === 304) return;
      etag.current = answer.headers.get("ETag");
      const seen = new Set(answer.data.items.map((r) => r.id));
      setItems([...answer.data.items, ...extra.current.filter((r) => !seen.has(r.id))]);
      if (!extra.current.length) setNext(answer.data.next_cursor);
    } catch (e) {
      setError(e); // shown beside the last list; the next poll tries again
    }
  };

  useEffect(() => {
    etag.current = null;
    extra.current = [];
    setItems(null);
    setNext(null);
    first();
    const timer = setInterval(() => document.visibilityState === "visible" && first(), POLL_MS);
    return () => clearInterval(timer);
  }, deps);

  const more = async () => {
    if (!next) return;
    const { data } = await call(urlOf(next), { token });
    extra.current = [...extra.current, ...data.items];
    setItems((old) => [...(old ?? []), ...data.items]);
    setNext(data.next_cursor);
  };
  return { items, next, more, error, refresh: first };
}
