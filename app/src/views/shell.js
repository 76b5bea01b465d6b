// The frame around every screen: navigation, connection and send state, language, sign-out,
// and the banners an officer must not miss (unsent referrals getting old, a referral in
// progress to resume, an app update). Small at 200 % zoom: one line of navigation.
import { useEffect, useState } from "preact/hooks";
import * as connection from "../connection.js";
import { LANGUAGES, formatDateTime, language, onLanguage, setLanguage, t } from "../i18n.js";
import * as outbox from "../outbox.js";
import { href, navigate, useRoute } from "../router.js";
import * as store from "../store.js";
import { useTracking } from "../tracking.js";
import { Notice, html, useApp } from "../ui.js";
import { applyUpdate, onUpdates } from "../updates.js";

export function useLanguage() {
  const [code, setCode] = useState(language());
  useEffect(() => onLanguage(setCode), []);
  return code;
}

/** Whether Bridges answers, as requests tell (connection.js), not as the browser guesses. */
export function useConnection() {
  const [status, setStatus] = useState(connection.current());
  useEffect(() => connection.onChange(setStatus), []);
  return status;
}

/** The outbox of the signed-in officer, re-read whenever it changes. */
export function useOutbox(owner) {
  const [items, setItems] = useState([]);
  useEffect(() => {
    if (!owner) return undefined;
    const read = () => outbox.items(owner).then(setItems);
    read();
    return outbox.subscribe(read);
  }, [owner]);
  return items;
}

export function LanguageSwitch() {
  const code = useLanguage();
  return html`<label class="language">
    <span class="visually-hidden">${t("common.language")}</span>
    <select value=${code} onChange=${(e) => setLanguage(e.currentTarget.value)}>
      ${LANGUAGES.map((l) => html`<option value=${l.code} lang=${l.code}>${l.name}</option>`)}
    </select>
  </label>`;
}

function UpdateBanner() {
  const [updates, setUpdates] = useState({});
  const [dismissed, setDismissed] = useState(false);
  useEffect(() => onUpdates(setUpdates), []);
  if (updates.updateWaiting) {
    return html`<${Notice}>${t("update.available")}
      <button onClick=${applyUpdate}>${t("update.reload")}</button></${Notice}>`;
  }
  if (updates.offlineReady && !dismissed) {
    return html`<${Notice}>${t("update.offline_ready")}
      <button class="link" onClick=${() => setDismissed(true)}>${t("common.dismiss")}</button></${Notice}>`;
  }
  return null;
}

/** After unlocking, the referral that was being written is back: offered on any screen,
 *  and said plainly on the form itself (with a way to start over instead). */
function ResumeBanner() {
  const resumable = store.useStore((s) => s.resumable);
  const draft = store.useStore((s) => s.draft);
  const cart = store.useStore((s) => s.cart);
  const [name] = useRoute();
  const [discarding, setDiscarding] = useState(false);
  if (!resumable) return null;
  const family = [draft?.givenName, draft?.familyName].filter(Boolean).join(" ");
  const at = formatDateTime(resumable.savedAt);
  const here = name === "refer";
  return html`<${Notice} kind="info">
    <span>${here ? t("draft.restored", { at }) : t("draft.resume_text", { family: family || t("draft.no_name"), count: cart.length, at })}</span>
    ${here
      ? html`<button class="primary" onClick=${() => store.dismissResume()}>${t("draft.keep_going")}</button>`
      : html`<button class="primary" onClick=${() => { store.dismissResume(); navigate("refer"); }}>${t("draft.resume")}</button>`}
    ${discarding
      ? html`<span>${t("draft.really_discard")}</span>
          <button class="danger" onClick=${() => { setDiscarding(false); store.discardDraft(); }}>${t("draft.discard")}</button>
          <button onClick=${() => setDiscarding(false)}>${t("common.cancel")}</button>`
      : html`<button class="link danger" onClick=${() => setDiscarding(true)}>${t("draft.discard")}</button>`}
  </${Notice}>`;
}

const NET_LABELS = { online: "net.online", offline: "net.offline", unreachable: "net.unreachable" };

export function Shell({ menu, children }) {
  const { session, signOut, signInAgain, lockNow, sendState, flush } = useApp();
  useLanguage();
  const net = useConnection();
  const [name] = useRoute();
  const officer = session.user.role === "officer";
  const cart = store.useStore((s) => s.cart);
  const tracked = useTracking();
  const items = useOutbox(officer ? session.user.id : null);
  const unsent = items.filter((i) => i.state === "waiting" || i.state === "sent");
  const oldest = unsent[0];
  const stale = oldest && Date.now() - Date.parse(oldest.created_at) > outbox.STALE_AFTER_MS;
  const changes = tracked.changed.size;
  // what waits behind a menu item, said in the item (and read out with it)
  const counts = {
    refer: cart.length ? html` <span class="count">${cart.length}</span>` : null,
    mine: html`${unsent.length ? html` <span class="count warn" title=${t("nav.unsent", { count: unsent.length })}>${unsent.length}<span class="visually-hidden"> ${t("nav.unsent", { count: unsent.length })}</span></span>` : null}${changes ? html` <span class="count new">${changes}<span class="visually-hidden"> ${t("nav.changed", { count: changes })}</span></span>` : null}`,
  };
  // on a narrow screen a short word shows; the full name stays the link's name for everyone
  const link = (route, label, extra) =>
    html`<a href=${href(route)} aria-current=${name === route || (!name && route === menu[0]) ? "page" : null}>
      <span class="long">${t(`nav.${label}`)}</span><span class="short" aria-hidden="true">${t(`nav.${label}_short`)}</span>${extra}</a>`;
  const [account, setAccount] = useState(false); // on a narrow screen, who is signed in folds away

  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault(); // the hash is the router's: move focus instead of changing screen
      document.getElementById("main")?.focus();
    }}>${t("common.skip")}</a>
    <header class="top">
      <span class="brand">Bridges</span>
      <span class=${`net ${net}`} role="status">${t(NET_LABELS[net])}</span>
      <button type="button" class="menu-toggle" aria-expanded=${account ? "true" : "false"} aria-controls="account"
        onClick=${() => setAccount(!account)}>${account ? t("nav.menu_close") : t("nav.menu")}</button>
      <nav aria-label=${t("nav.label")}>${menu.map((route) => link(route, route, counts[route] ?? null))}</nav>
      <div class=${`who${account ? " open" : ""}`} id="account">
        <${LanguageSwitch} />
        <span class="user">${session.user.name}</span>
        ${officer ? html`<button class="link" onClick=${lockNow}>${t("nav.lock")}</button>` : null}
        <button class="link" onClick=${signOut}>${t("nav.sign_out")}</button>
      </div>
    </header>
    <${UpdateBanner} />
    ${officer ? html`<${ResumeBanner} />` : null}
    ${stale
      ? html`<${Notice} kind="warn">${t("outbox.stale", { count: unsent.length })}
          <button onClick=${() => flush(true)}>${t("outbox.send_now")}</button></${Notice}>`
      : null}
    ${officer && (sendState === "signed-out" || !outbox.usable(session))
      ? html`<${Notice} kind="warn">${t("outbox.sign_in_again")}
          <button onClick=${signInAgain}>${t("signin.again_button")}</button></${Notice}>`
      : null}
    <main id="main" tabindex="-1">${children}</main>
  </div>`;
}
