// Signing in with the organisation's OpenID provider (./signin/oidc.js: the page goes to the
// provider and comes back) and the officer's PIN, which opens the sealed data on this tablet.
import { useEffect, useRef, useState } from "preact/hooks";
import { database } from "../db.js";
import { Problem } from "../api.js";
import { isRefusal } from "../signin/oidc.js";
import { t } from "../i18n.js";
import { Field, Notice, ScreenTitle, announce, html, problemText, useApp } from "../ui.js";
import * as vault from "../vault.js";
import { LanguageSwitch } from "./shell.js";

async function waitingByOwner() {
  const counts = {};
  for (const item of await (await database()).getAll("outbox")) {
    if (item.state !== "confirmed") counts[item.owner] = (counts[item.owner] ?? 0) + 1;
  }
  return counts;
}

/** What went wrong, as a person can act on it: refused by the provider or by Bridges, or no
 *  connection (anything else: the provider or the network could not be reached). */
function SignInProblem({ error }) {
  if (!error) return null;
  if (isRefusal(error))
    return html`<${Notice} kind="error">${t("signin.failed")} ${error.error_description || error.error}</${Notice}>`;
  if (error instanceof Problem)
    return html`<${Notice} kind="error">${t("signin.failed")} ${problemText(error)}</${Notice}>`;
  return html`<${Notice} kind="warn">${t("signin.offline")}</${Notice}>`;
}

export function SignInScreen({ onSignIn, error: earlier, reauthFor, onBack }) {
  const { config } = useApp();
  const [waiting, setWaiting] = useState(0);
  const [error, setError] = useState(earlier);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    waitingByOwner().then((counts) => setWaiting(Object.values(counts).reduce((a, b) => a + b, 0)));
  }, []);

  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      await onSignIn(); // the page leaves for the provider's
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const configured = config.sign_in === "oidc";

  return html`<main class="signin" id="main">
    <div class="signin-top"><span class="brand">Bridges</span><${LanguageSwitch} /></div>
    <${ScreenTitle}>${t("signin.title")}</${ScreenTitle}>
    <p>${t("signin.intro")}</p>
    ${reauthFor ? html`<${Notice}>${t("signin.again", { name: reauthFor.name })}</${Notice}>` : null}
    ${waiting ? html`<${Notice} kind="warn">${t("signin.waiting", { count: waiting })}</${Notice}>` : null}
    <${SignInProblem} error=${error} />
    ${configured
      ? html`<p><button class="primary" type="button" onClick=${go} disabled=${busy}>
          ${busy ? t("signin.going") : t("signin.button")}</button></p>`
      : html`<${Notice} kind="error">${t("signin.not_configured")}</${Notice}>`}
    ${onBack ? html`<p><button type="button" onClick=${onBack}>${t("signin.keep_working")}</button></p>` : null}
    ${config.environment === "development" ? html`<p class="hint">${t("signin.dev_note")}</p>` : null}
  </main>`;
}

export function PinScreen({ user, onUnlocked, onCancel }) {
  const [hasVault, setHasVault] = useState(null);
  const [pin, setPin] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState(null);
  const [repeatError, setRepeatError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [waiting, setWaiting] = useState(0);
  const [forgetting, setForgetting] = useState(false);

  useEffect(() => {
    vault.hasVault(user.id).then(setHasVault);
    waitingByOwner().then((counts) => setWaiting(counts[user.id] ?? 0));
  }, [user.id]);

  const pinField = useRef(null);
  useEffect(() => {
    if (hasVault !== null) pinField.current?.focus();
  }, [hasVault]);

  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setRepeatError(null);
    if (!/^\d{6,12}$/.test(pin)) return setError(t("pin.rule"));
    if (!hasVault) {
      const weak = vault.weakPin(pin, user.id);
      if (weak) return setError(t(weak));
      if (pin !== repeat) {
        setRepeatError(t("pin.mismatch"));
        return document.getElementById("pin-repeat")?.focus();
      }
    }
    setBusy(true);
    try {
      if (hasVault) await vault.unlock(user.id, pin);
      else await vault.createVault(user.id, pin);
      await onUnlocked();
    } catch (e) {
      if (e instanceof vault.WrongPin && e.cause?.erased) {
        announce(t("pin.erased"));
        return onCancel();
      }
      const text = e instanceof vault.WrongPin ? t("pin.wrong", { left: e.cause?.left ?? "" }) : problemText(e);
      setError(text);
      announce(text);
      setBusy(false);
      setPin("");
    }
  };

  const forget = async () => {
    await vault.destroyVault(user.id);
    setForgetting(false);
    onCancel();
  };

  if (hasVault === null) return html`<main id="main"><p>${t("common.loading")}</p></main>`;
  return html`<main class="signin" id="main">
    <div class="signin-top"><span class="brand">Bridges</span><${LanguageSwitch} /></div>
    <${ScreenTitle} focus=${false}>${hasVault ? t("pin.unlock_title") : t("pin.create_title")}</${ScreenTitle}>
    <p>${hasVault ? t("pin.unlock_intro", { name: user.name }) : t("pin.create_intro")}</p>
    ${waiting ? html`<${Notice} kind="warn">${t("pin.waiting", { count: waiting })}</${Notice}>` : null}
    <form onSubmit=${submit} class="pin-form" novalidate>
      <${Field} id="pin" label=${t("pin.label")} hint=${hasVault ? null : t("pin.rule_new")} error=${error}>
        <input id="pin" ref=${pinField} type="password" inputmode="numeric" pattern="[0-9]*" autocomplete="off" value=${pin}
          maxlength="12" onInput=${(e) => setPin(e.currentTarget.value.trim())} />
      </${Field}>
      ${hasVault
        ? null
        : html`<${Field} id="pin-repeat" label=${t("pin.repeat")} error=${repeatError}>
            <input id="pin-repeat" type="password" inputmode="numeric" pattern="[0-9]*" autocomplete="off" value=${repeat}
              maxlength="12" onInput=${(e) => setRepeat(e.currentTarget.value.trim())} />
          </${Field}>`}
      <button class="primary" type="submit" disabled=${busy}>${busy ? t("pin.opening") : hasVault ? t("pin.unlock") : t("pin.create")}</button>
    </form>
    <div class="row">
      <button class="link" type="button" onClick=${onCancel}>${t("pin.other_user")}</button>
      ${hasVault ? html`<button class="link danger" type="button" onClick=${() => setForgetting(true)}>${t("pin.forgot")}</button>` : null}
    </div>
    ${forgetting
      ? html`<div class="confirm" role="alertdialog" aria-labelledby="forget-title">
          <h2 id="forget-title">${t("pin.forget_title")}</h2>
          <p>${t("pin.forget_body", { count: waiting })}</p>
          <button class="danger" onClick=${forget}>${t("pin.forget_confirm")}</button>
          <button onClick=${() => setForgetting(false)}>${t("common.cancel")}</button>
        </div>`
      : null}
  </main>`;
}
