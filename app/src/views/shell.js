// The frame around every screen: navigation, connection and send state, language, sign-out,
// and the banners an officer must not miss (unsent referrals getting old, an app update).
import { useEffect, useState } from "preact/hooks";
import { LANGUAGES, language, onLanguage, setLanguage, t } from "../i18n.js";
import * as outbox from "../outbox.js";
import { href, useRoute } from "../router.js";
import { Notice, html, useApp } from "../ui.js";
import { applyUpdate, onUpdates } from "../updates.js";

export function useLanguage() {
  const [code, setCode] = useState(language());
  useEffect(() => onLanguage(setCode), []);
  return code;
}

export function useOnline() {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    addEventListener("online", on);
    addEventListener("offline", off);
    return () => {
      removeEventListener("online", on);
      removeEventListener("offline", off);
    };
  }, []);
  return online;
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

export function Shell({ children }) {
  const { session, cart, signOut, signInAgain, lockNow, sendState, flush } = useApp();
  useLanguage();
  const online = useOnline();
  const [name] = useRoute();
  const officer = session.user.role === "officer";
  const items = useOutbox(officer ? session.user.id : null);
  const unsent = items.filter((i) => i.state === "waiting" || i.state === "sent");
  const oldest = unsent[0];
  const stale = oldest && Date.now() - Date.parse(oldest.created_at) > outbox.STALE_AFTER_MS;
  const link = (route, label, extra) =>
    html`<a href=${href(route)} aria-current=${name === route || (!name && route === "search") ? "page" : null}>${label}${extra}</a>`;

  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault(); // the hash is the router's: move focus instead of changing screen
      document.getElementById("main")?.focus();
    }}>${t("common.skip")}</a>
    <header class="top">
      <span class="brand">Bridges</span>
      <nav aria-label=${t("nav.label")}>
        ${officer
          ? html`${link("search", t("nav.search"))}
              ${link("refer", t("nav.refer"), cart.length ? html` <span class="count">${cart.length}</span>` : null)}
              ${link("mine", t("nav.mine"), unsent.length ? html` <span class="count warn">${unsent.length}</span>` : null)}
              ${link("storage", t("nav.storage"))}`
          : link("inbox", t("nav.inbox"))}
      </nav>
      <div class="who">
        <span class=${`net ${online ? "on" : "off"}`}>${online ? t("net.online") : t("net.offline")}</span>
        <${LanguageSwitch} />
        <span class="user">${session.user.name}</span>
        ${officer ? html`<button class="link" onClick=${lockNow}>${t("nav.lock")}</button>` : null}
        <button class="link" onClick=${signOut}>${t("nav.sign_out")}</button>
      </div>
    </header>
    <${UpdateBanner} />
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
