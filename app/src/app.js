// The app's top level: who is signed in (and unlocked), the outbox's triggers, and which
// screen shows. Officers: search, program, refer, my referrals, storage. Agency staff: inbox.
// An officer's work in progress lives in the store (store.js), sealed on the tablet as it
// changes (drafts.js); locking or signing out takes it out of memory.
import { useCallback, useEffect, useState } from "preact/hooks";
import * as connection from "./connection.js";
import * as drafts from "./drafts.js";
import * as outbox from "./outbox.js";
import * as personal from "./personal.js";
import * as oidc from "./signin/oidc.js";
import { useRoute } from "./router.js";
import * as session from "./session.js";
import * as store from "./store.js";
import * as tracking from "./tracking.js";
import { AppContext, LiveRegion, announce, html } from "./ui.js";
import { useTokenRenewal } from "./renewal.js";
import { requestBackgroundSync } from "./updates.js";
import * as vault from "./vault.js";
import { t } from "./i18n.js";
import { Shell, useLanguage } from "./views/shell.js";
import { PublicScreen } from "./views/public.js";
import { PinScreen, SignInScreen } from "./views/signin.js";
import { menuOf, publicScreen, screenFor, supported } from "./roles.js";

const FLUSH_EVERY_MS = 30_000;

export function App({ config, storage }) {
  const [phase, setPhase] = useState("loading");
  const [user, setUser] = useState(null);
  const [current, setCurrent] = useState(null); // { token, expiresAt, user }
  const [pending, setPending] = useState(null); // signed in, PIN still to come
  const [sendState, setSendState] = useState("idle");
  const [signInError, setSignInError] = useState(null);
  const route = useRoute();
  const renewal = useTokenRenewal({ config, active: phase === "ready", current, setCurrent });
  useLanguage(); // every screen re-renders in the chosen language

  useEffect(() => connection.watch(`${config.referrals_url}/healthz`), []);

  // signed out in another tab: this one forgets its key and screens too (they live per page)
  useEffect(() => {
    const changed = (event) => {
      if (event.key === "bridges.user" && event.newValue === null) location.reload();
    };
    addEventListener("storage", changed);
    return () => removeEventListener("storage", changed);
  }, []);

  /** What one person left in memory must not reach the next one on a shared tablet (their
   *  sealed work stays, for their next unlock). */
  const forgetWork = async () => {
    await drafts.flushNow();
    drafts.detach();
    tracking.stop();
    store.forgetAll();
  };

  // an unlocked officer's work: sealed as it changes, and their referrals followed
  useEffect(() => {
    if (phase !== "ready" || !current || !session.isOfficer(current.user)) return;
    drafts.attach(current.user.id);
    tracking.start(config, current);
  }, [phase, current?.user?.id]);
  useEffect(() => {
    if (current) tracking.renewed(current);
  }, [current]);

  useEffect(() => {
    (async () => {
      if (oidc.isCallback()) {
        try {
          return await signedIn(await oidc.complete(config));
        } catch (error) {
          setSignInError(error);
          return setPhase("signin");
        }
      }
      const last = session.lastUser();
      if (!last) return setPhase("signin");
      setUser(last);
      if (session.isOfficer(last)) return setPhase((await vault.hasVault(last.id)) ? "pin" : "signin");
      const restored = await session.restore(last);
      setCurrent(restored);
      setPhase(restored ? "ready" : "signin");
    })();
  }, []);

  /** Back from the provider, on a page just loaded (nothing of anyone is in memory yet): staff
   *  go straight in; an officer opens the vault first, and the work parked for the way there
   *  (theirs only) comes back then. */
  const signedIn = async (result) => {
    setUser(result.user);
    if (session.isOfficer(result.user)) {
      setPending(result);
      return setPhase("pin");
    }
    await session.keep(result);
    setCurrent(result);
    setPhase("ready");
  };

  const unlocked = async () => {
    if (pending) {
      await session.keep(pending);
      setCurrent(pending);
      setPending(null);
      return setPhase("ready");
    }
    // an expired sign-in does not stop the work: search what is saved and file referrals
    // offline; they are sent once the officer signs in again (the vault stays open)
    setCurrent((await session.restore(user)) ?? { token: null, expiresAt: 0, user });
    setPhase("ready");
  };

  const signInAgain = () => setPhase("signin"); // the vault, the draft and the cart stay

  /** Off to the provider's page (this page goes): the work is sealed on the tablet first. */
  const toProvider = async () => {
    await drafts.flushNow();
    await oidc.begin(config);
  };

  const signOut = async () => {
    await renewal.settle(); // then the newest refresh token is the one revoked
    oidc.revoke(config, renewal.end()).catch(() => {}); // best effort: the tablet forgets anyway
    await forgetWork();
    if (user) await personal.forgetAllBut(user.id, ["draft"]); // the sealed draft stays, like unsent referrals
    await session.signOut(user);
    setUser(null);
    setCurrent(null);
    setPending(null);
    setPhase("signin");
    announce(t("signin.signed_out"));
  };

  const lockNow = async () => {
    await renewal.settle(); // renewed tokens are sealed before the key goes
    await forgetWork(); // sealed first, then out of memory
    vault.lock();
    setCurrent(null);
    setPhase("pin");
  };

  const flush = useCallback(
    async (force = false) => {
      if (!current || !session.isOfficer(current.user)) return;
      setSendState("sending");
      let outcome = "server";
      try {
        outcome = await outbox.flush({ config, session: current, force });
      } finally {
        setSendState(outcome);
      }
      if (outcome === "signed-out") announce(t("outbox.sign_in_again"));
    },
    [config, current],
  );

  useEffect(() => {
    if (phase !== "ready" || !current || !session.isOfficer(current.user)) return undefined;
    // unsent referrals live here: ask the browser not to evict them (Safari erases idle sites)
    navigator.storage?.persist?.().catch(() => {});
    flush(true);
    const online = () => flush(true);
    const woken = () => flush(true);
    addEventListener("online", online);
    addEventListener("bridges:flush", woken);
    const timer = setInterval(() => flush(false), FLUSH_EVERY_MS);
    return () => {
      removeEventListener("online", online);
      removeEventListener("bridges:flush", woken);
      clearInterval(timer);
    };
  }, [phase, current, flush]);

  // the results page is everyone's: no sign-in, nothing of anyone's
  if (route[0] === "public") {
    return html`<${AppContext.Provider} value=${{ config }}><${LiveRegion} /><${PublicScreen} /></${AppContext.Provider}>`;
  }
  if (phase === "loading") return html`<${LiveRegion} />`;
  const context = {
    config,
    storage,
    user,
    session: current,
    flush,
    sendState,
    signOut,
    signInAgain,
    lockNow,
    requestBackgroundSync,
  };
  const open = publicScreen(route); // a link for anyone (the listing's "still correct")
  let screen;
  if (open) screen = open; // signed in or not
  else if (phase === "signin")
    screen = html`<${SignInScreen} onSignIn=${toProvider} error=${signInError} reauthFor=${user}
      onBack=${current ? () => setPhase("ready") : null} />`;
  else if (phase === "pin")
    screen = html`<${PinScreen} user=${pending?.user ?? user} onUnlocked=${unlocked} onCancel=${signOut} />`;
  else screen = html`<${Shell} menu=${menuOf(current.user.role)}>${pick(route, current.user)}</${Shell}>`;
  return html`<${AppContext.Provider} value=${context}><${LiveRegion} />${screen}</${AppContext.Provider}>`;
}

function pick(route, user) {
  if (!supported(user.role)) return html`<p class="panel">${t("signin.role_not_supported")}</p>`;
  return screenFor(user.role, route);
}
