// Filing a referral: the chosen programs, the family, how to reach them, their needs, and the
// family's consent (read aloud, recorded with its text version). Send stays disabled until the
// consent is complete. Sending files it on this tablet first (sealed), then the outbox sends it.
import { useEffect, useState } from "preact/hooks";
import { consentText, consentTextVersion, SCOPES } from "../consent.js";
import * as directory from "../directory.js";
import { t, tOr } from "../i18n.js";
import * as outbox from "../outbox.js";
import {
  CHANNELS,
  LIMITS,
  METHODS,
  URGENCIES,
  body,
  consentProblems,
  emptyDraft,
  familyProblems,
  localInputValue,
  programProblems,
} from "../referral.js";
import { href, navigate } from "../router.js";
import { Field, Notice, ScreenTitle, announce, html, useApp } from "../ui.js";

// The form in progress lives in memory only (never stored unsealed) and is dropped at sign-out.
let draft = emptyDraft();
let consentTimeEdited = false;
export function clearDraft() {
  draft = emptyDraft();
  consentTimeEdited = false;
}
/** The form in progress, to park while the officer signs in at the provider. */
export const currentDraft = () => ({ draft, consentTimeEdited });
export function restoreDraft(parked) {
  draft = parked.draft;
  consentTimeEdited = parked.consentTimeEdited;
}
/** Start from an earlier referral's content (a refused one, corrected and filed again). */
export function loadDraft(earlier) {
  draft = earlier;
  consentTimeEdited = true; // the family agreed then, not now
}

function Choice({ name, legend, options, value, onChange, error, labelOf }) {
  return html`<fieldset class=${`choice${error ? " has-error" : ""}`} aria-describedby=${error ? `${name}-error` : null}>
    <legend>${legend}</legend>
    <div class="options">
      ${options.map(
        (option) => html`<label class="option">
          <input type="radio" name=${name} value=${String(option)} checked=${value === option}
            onChange=${() => onChange(option)} />
          <span>${labelOf(option)}</span>
        </label>`,
      )}
    </div>
    ${error ? html`<p class="error" id=${`${name}-error`}>${t(error)}</p>` : null}
  </fieldset>`;
}

function Household({ members, onChange, problems, shown }) {
  const set = (index, change) => onChange(members.map((m, i) => (i === index ? { ...m, ...change } : m)));
  return html`<div class="household">
    <h3>${t("form.household")}</h3>
    ${members.map(
      (member, index) => html`<div class="member" key=${member.key ?? index} role="group" aria-label=${t("form.member", { n: index + 1 })}>
        <${Field} id=${`member-${index}-name`} label=${t("form.given_name")} error=${shown && problems[`member-${index}-name`] ? t(problems[`member-${index}-name`]) : null}>
          <input id=${`member-${index}-name`} maxlength=${LIMITS.name} value=${member.givenName} onInput=${(e) => set(index, { givenName: e.currentTarget.value })} />
        </${Field}>
        <${Field} id=${`member-${index}-relationship`} label=${t("form.relationship")} error=${shown && problems[`member-${index}-relationship`] ? t(problems[`member-${index}-relationship`]) : null}>
          <input id=${`member-${index}-relationship`} maxlength=${LIMITS.relationship} value=${member.relationship} onInput=${(e) => set(index, { relationship: e.currentTarget.value })} />
        </${Field}>
        <${Field} id=${`member-${index}-age`} label=${t("form.age")} error=${shown && problems[`member-${index}-age`] ? t(problems[`member-${index}-age`]) : null}>
          <input id=${`member-${index}-age`} type="number" min="0" max="130" inputmode="numeric" value=${member.age}
            onInput=${(e) => set(index, { age: e.currentTarget.value })} />
        </${Field}>
        <button type="button" class="link danger" onClick=${() => onChange(members.filter((_, i) => i !== index))}>
          ${t("form.remove_member", { n: index + 1 })}</button>
      </div>`,
    )}
    ${members.length < 20
      ? html`<button type="button" onClick=${() => onChange([...members, { key: crypto.randomUUID(), givenName: "", relationship: "", age: "" }])}>${t("form.add_member")}</button>`
      : null}
  </div>`;
}

export function ReferScreen() {
  const { config, session, cart, setCart, flush, requestBackgroundSync } = useApp();
  const [failure, setFailure] = useState(null);
  const [form, setForm] = useState(draft);
  const [needs, setNeeds] = useState([]);
  const [shown, setShown] = useState(false);
  const [sending, setSending] = useState(false);
  const update = (change) => setForm((old) => (draft = { ...old, ...change }));
  const updateConsent = (change) => update({ consent: { ...form.consent, ...change } });

  useEffect(() => {
    directory.taxonomy(config).then((all) => setNeeds(all.filter((term) => !term.parent_id)));
  }, []);

  const problems = { ...familyProblems(form), ...programProblems(cart) };
  const consentIssues = consentProblems(form.consent);
  const consentDone = Object.keys(consentIssues).length === 0;
  const ready = consentDone && !Object.keys(problems).length && cart.length > 0;
  const err = (key) => (shown && problems[key] ? t(problems[key]) : null);
  const cerr = (key) => (shown && consentIssues[key] ? consentIssues[key] : null);

  const send = async (event) => {
    event.preventDefault();
    if (!ready) {
      setShown(true);
      announce(t("form.fix_problems"));
      // after the errors are drawn: focus the first one
      setTimeout(() => document.querySelector(".has-error input, .has-error select, .has-error textarea")?.focus(), 0);
      return;
    }
    setSending(true);
    setFailure(null);
    const label = { family: `${form.givenName.trim()} ${form.familyName.trim()}`, programs: cart.map((p) => p.name) };
    try {
      await outbox.file(session.user.id, body(form, cart, consentTextVersion()), label);
    } catch (error) {
      setFailure(`${t("outbox.file_failed")} ${error?.message ?? error}`);
      setSending(false);
      return;
    }
    clearDraft();
    setForm(draft);
    setCart([]);
    announce(t("form.filed"));
    requestBackgroundSync();
    navigate("mine");
    flush(true);
  };

  const through = form.channel === "officer" || form.channel === "in-person";
  return html`<form class="refer" onSubmit=${send} novalidate autocomplete="off">
    <${ScreenTitle}>${t("form.title")}</${ScreenTitle}>
    ${failure ? html`<${Notice} kind="error">${failure}</${Notice}>` : null}

    <section aria-labelledby="step-programs">
      <h2 id="step-programs">1. ${t("form.programs")}</h2>
      ${cart.length
        ? html`<ul class="plain">${cart.map(
            (p) => html`<li key=${p.id}>${p.name} <button type="button" class="link danger"
              onClick=${() => setCart(cart.filter((c) => c.id !== p.id))}>${t("form.remove_program", { name: p.name })}</button></li>`,
          )}</ul>`
        : html`<${Notice} kind=${shown ? "error" : "info"}>${t("form.no_programs")}</${Notice}>`}
      ${shown && problems.programs ? html`<${Notice} kind="error">${t(problems.programs)}</${Notice}>` : null}
      <a href=${href("search")}>${t("form.add_programs")}</a>
    </section>

    <section aria-labelledby="step-family">
      <h2 id="step-family">2. ${t("form.family")}</h2>
      <div class="row">
        <${Field} id="given-name" label=${t("form.given_name")} error=${err("givenName")}>
          <input id="given-name" autocomplete="off" maxlength=${LIMITS.name} value=${form.givenName} onInput=${(e) => update({ givenName: e.currentTarget.value })} />
        </${Field}>
        <${Field} id="family-name" label=${t("form.family_name")} error=${err("familyName")}>
          <input id="family-name" autocomplete="off" maxlength=${LIMITS.name} value=${form.familyName} onInput=${(e) => update({ familyName: e.currentTarget.value })} />
        </${Field}>
        <${Field} id="client-age" label=${t("form.age")} error=${err("age")}>
          <input id="client-age" type="number" min="0" max="130" inputmode="numeric" value=${form.age} onInput=${(e) => update({ age: e.currentTarget.value })} />
        </${Field}>
      </div>
      <${Household} members=${form.household} onChange=${(household) => update({ household })} problems=${problems} shown=${shown} />
    </section>

    <section aria-labelledby="step-contact">
      <h2 id="step-contact">3. ${t("form.contact")}</h2>
      <${Choice} name="channel" legend=${t("form.channel")} options=${CHANNELS} value=${form.channel}
        onChange=${(channel) => update({ channel })} labelOf=${(c) => t(`channel.${c}`)} />
      <div class="row">
        <${Field} id="phone" label=${t("form.phone")} error=${err("phone")}>
          <input id="phone" type="tel" autocomplete="off" value=${form.phone} onInput=${(e) => update({ phone: e.currentTarget.value })} />
        </${Field}>
        <${Field} id="email" label=${t("form.email")} error=${err("email")}>
          <input id="email" type="email" autocomplete="off" value=${form.email} onInput=${(e) => update({ email: e.currentTarget.value })} />
        </${Field}>
      </div>
      <${Choice} name="safe-message" legend=${t("form.safe_message")} options=${[true, false]} value=${form.safeToLeaveMessage}
        onChange=${(safeToLeaveMessage) => update({ safeToLeaveMessage })} labelOf=${(v) => (v ? t("common.yes") : t("common.no"))}
        error=${err("safeToLeaveMessage") ? problems.safeToLeaveMessage : null} />
      <div class="row">
        <${Field} id="contact-language" label=${t("form.contact_language")}>
          <select id="contact-language" value=${form.contactLanguage} onChange=${(e) => update({ contactLanguage: e.currentTarget.value })}>
            ${["en", "es", "vi", "zh", "ru", "ar"].map((code) => html`<option value=${code}>${t(`lang.${code}`)}</option>`)}
          </select>
        </${Field}>
        <label class="check"><input type="checkbox" checked=${form.interpreter} onChange=${(e) => update({ interpreter: e.currentTarget.checked })} /> ${t("form.interpreter")}</label>
        <${Field} id="best-time" label=${t("form.best_time")}>
          <input id="best-time" maxlength=${LIMITS.bestTime} value=${form.bestTime} onInput=${(e) => update({ bestTime: e.currentTarget.value })} />
        </${Field}>
      </div>
      ${through
        ? html`<${Field} id="officer-phone" label=${t("form.officer_phone")} hint=${t("form.officer_phone_hint")} error=${err("officerPhone")}>
            <input id="officer-phone" type="tel" value=${form.officerPhone} aria-describedby="officer-phone-hint"
              onInput=${(e) => update({ officerPhone: e.currentTarget.value })} />
          </${Field}>`
        : null}
    </section>

    <section aria-labelledby="step-needs">
      <h2 id="step-needs">4. ${t("form.needs")}</h2>
      <fieldset class=${`needs${err("needs") ? " has-error" : ""}`}>
        <legend>${t("form.needs_legend")}</legend>
        <div class="options">
          ${needs.map(
            (term) => html`<label class="option"><input type="checkbox" checked=${form.needs.includes(term.code)}
              onChange=${(e) => update({ needs: e.currentTarget.checked ? [...form.needs, term.code] : form.needs.filter((n) => n !== term.code) })} />
              <span>${tOr(`need.${term.code}`, term.name)}</span></label>`,
          )}
        </div>
        ${err("needs") ? html`<p class="error">${err("needs")}</p>` : null}
      </fieldset>
      <${Choice} name="urgency" legend=${t("form.urgency")} options=${URGENCIES} value=${form.urgency}
        onChange=${(urgency) => update({ urgency })} labelOf=${(u) => t(`urgency.${u}`)} error=${shown ? problems.urgency : null} />
      <${Field} id="situation" label=${t("form.situation")} hint=${t("form.situation_hint")}>
        <textarea id="situation" rows="4" maxlength="4000" aria-describedby="situation-hint" value=${form.situation}
          onInput=${(e) => update({ situation: e.currentTarget.value })}></textarea>
      </${Field}>
    </section>

    <section aria-labelledby="step-consent" class="consent">
      <h2 id="step-consent">5. ${t("form.consent")}</h2>
      <blockquote class="consent-text" lang=${undefined}>${consentText()}</blockquote>
      <p class="hint">${t("consent.version", { version: consentTextVersion() })}</p>
      <${Choice} name="given-by" legend=${t("consent.given_by")} options=${["client", "guardian"]} value=${form.consent.givenBy}
        onChange=${(givenBy) => updateConsent({ givenBy })} labelOf=${(v) => t(`consent.by_${v}`)} error=${cerr("givenBy")} />
      ${form.consent.givenBy === "guardian"
        ? html`<${Field} id="guardian-name" label=${t("consent.guardian_name")} error=${cerr("guardianName") ? t(cerr("guardianName")) : null}>
            <input id="guardian-name" maxlength=${LIMITS.name} value=${form.consent.guardianName} onInput=${(e) => updateConsent({ guardianName: e.currentTarget.value })} />
          </${Field}>`
        : null}
      <${Choice} name="method" legend=${t("consent.method")} options=${METHODS} value=${form.consent.method}
        onChange=${(method) => updateConsent({ method })} labelOf=${(m) => t(`consent.method_${m}`)} error=${cerr("method")} />
      <${Field} id="given-at" label=${t("consent.given_at")} error=${cerr("givenAt") ? t(cerr("givenAt")) : null}>
        <input id="given-at" type="datetime-local" value=${form.consent.givenAt} onInput=${(e) => {
          consentTimeEdited = true;
          updateConsent({ givenAt: e.currentTarget.value });
        }} />
      </${Field}>
      <fieldset class="scopes">
        <legend>${t("consent.scopes")}</legend>
        ${SCOPES.map(
          (scope) => html`<label class="option"><input type="checkbox" checked=${form.consent.scopes.includes(scope)}
            disabled=${scope === "contact"}
            onChange=${(e) => updateConsent({ scopes: e.currentTarget.checked ? [...form.consent.scopes, scope] : form.consent.scopes.filter((s) => s !== scope) })} />
            <span>${t(`scope.${scope}`)}</span></label>`,
        )}
      </fieldset>
      <label class="check confirm-consent">
        <input id="consent-confirmed" type="checkbox" checked=${form.consent.confirmed}
          onChange=${(e) => {
            const confirmed = e.currentTarget.checked;
            // the family agrees now (unless the officer wrote down another time)
            updateConsent(confirmed && !consentTimeEdited ? { confirmed, givenAt: localInputValue(new Date()) } : { confirmed });
          }} />
        ${t("consent.confirm")}
      </label>
    </section>

    <div class="sendbar">
      <p id="send-state" aria-live="polite">${consentDone ? (ready ? t("form.ready") : t("form.incomplete")) : t("form.consent_first")}</p>
      <button class="primary" type="submit" id="send-referral" disabled=${!consentDone || sending} aria-describedby="send-state">
        ${t("form.send", { count: cart.length })}</button>
    </div>
  </form>`;
}
