// "Is your listing still correct?" — the page the monthly email's one-tap link opens
// (`#/confirm/<token>`), without signing in: the token, signed by Bridges for that request, lets
// it confirm the agency's programs once, before it expires. Anything to change needs signing in
// (Our programs). The token stays in the page's address fragment: never sent as a URL.
import { useState } from "preact/hooks";
import { Problem } from "../api.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { formatDate, t } from "../i18n.js";
import { confirmByLink } from "../listing.js";
import { href } from "../router.js";
import { Notice, ScreenTitle, announce, html, problemText, useApp } from "../ui.js";
import { LanguageSwitch, useLanguage } from "./shell.js";

function Refusal({ error }) {
  if (error instanceof Problem && error.status === 404) return html`<${Notice} kind="error">${t("confirm.invalid")}</${Notice}>`;
  if (error instanceof Problem && error.status === 410) return html`<${Notice} kind="warn">${t("confirm.spent")}</${Notice}>`;
  return html`<${Notice} kind="error">${problemText(error)}</${Notice}>`;
}

export function ListingConfirmScreen({ id: token }) {
  const { config } = useApp();
  useLanguage();
  const [done, setDone] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const confirmed = await confirmByLink(config, token);
      setDone(confirmed);
      announce(t("confirm.done_announce", { count: confirmed.programs.length }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin confirm-listing" id="main">
    <div class="signin-top"><span class="brand">Bridges</span><${LanguageSwitch} /></div>
    <${ScreenTitle}>${t("confirm.title")}</${ScreenTitle}>
    ${done
      ? html`<${Notice}>${t("confirm.done", { count: done.programs.length })}</${Notice}>
          <ul class="plain confirmed-programs">${done.programs.map(
            (p) => html`<li><span lang=${CONTENT_LANGUAGE}>${p.name}</span> · ${t("confirm.checked_on", { date: formatDate(p.last_verified) })}</li>`,
          )}</ul>`
      : html`<p>${t("confirm.intro")}</p>
          ${error
            ? html`<${Refusal} error=${error} />`
            : html`<button type="button" class="primary big" disabled=${busy} onClick=${confirm}>${t("confirm.button")}</button>`}`}
    <p>${t("confirm.change")} <a href=${href("programs")}>${t("confirm.sign_in")}</a></p>
  </main>`;
}
