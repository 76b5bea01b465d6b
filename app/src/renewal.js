// Keeping the short access token fresh: renewed ahead of expiry with the refresh token (which
// the provider rotates on each use), one renewal at a time, and never applied to a session that
// ended meanwhile (its new tokens are revoked instead). Offline, it tries again later; a refused
// refresh token means the person signs in again (the app says so when a send needs it).
import { useEffect, useRef } from "preact/hooks";
import * as oidc from "./signin/oidc.js";
import * as session from "./session.js";

const AHEAD_MS = 90_000; // renew this long before the access token expires
const RETRY_MS = 30_000; // offline or the provider down: try again

export function useTokenRenewal({ config, active, current, setCurrent }) {
  const inFlight = useRef(null);
  const era = useRef(0); // moves on when a session ends or another begins
  const latest = useRef(null);
  if (current) latest.current = current;

  useEffect(() => {
    if (!active || !current?.refreshToken) return undefined;
    let cancelled = false;
    let timer;
    const renew = () => {
      if (cancelled || inFlight.current) return;
      const started = era.current;
      inFlight.current = (async () => {
        try {
          const renewed = await oidc.refresh(config, current);
          if (era.current !== started) return void oidc.revoke(config, renewed).catch(() => {});
          await session.keep(renewed);
          latest.current = renewed;
          setCurrent(renewed);
        } catch (error) {
          if (era.current !== started || cancelled) return;
          if (oidc.isRefusal(error)) setCurrent({ ...current, refreshToken: null });
          else timer = setTimeout(renew, RETRY_MS);
        } finally {
          inFlight.current = null;
        }
      })();
    };
    timer = setTimeout(renew, Math.max(0, current.expiresAt - Date.now() - AHEAD_MS));
    const online = () => {
      if (current.expiresAt - Date.now() >= AHEAD_MS) return;
      clearTimeout(timer);
      renew();
    };
    addEventListener("online", online);
    return () => {
      cancelled = true;
      clearTimeout(timer);
      removeEventListener("online", online);
    };
  }, [active, current, config]);

  return {
    /** Wait for a renewal under way (before locking: its tokens are sealed with the key). */
    settle: () => (inFlight.current ? inFlight.current.catch(() => {}) : Promise.resolve()),
    /** The session ends or another begins: a renewal still under way is not applied. Returns
     *  the ending session's newest tokens (what sign-out revokes), forgotten here. */
    end: () => {
      era.current += 1;
      const ending = latest.current;
      latest.current = null;
      return ending;
    },
  };
}
