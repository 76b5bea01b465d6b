// Filing a referral: the chosen programs, the family, how to reach them, their needs, and the
// family's consent (read aloud in their language, recorded with its text version). Fields
// appear only when they apply (referral.js `applies`); what can be known is filled in (needs
// from the programs, the officer's own phone, the guardian from the household). The form is
// sealed on the tablet as it is typed (drafts.js). Send stays disabled until the consent is
// complete; sending files it on this tablet first (sealed), then the outbox sends it.
import { useEffect, useState } from "preact/hooks";
import { CONSENT_LANGUAGES, SCOPES, consentLanguage, consentText, consentTextVersion, noTextInFamilyLanguage } from "../consent.js";
import * as directory from "../directory.js";
import { languageName, t, tOr } from "../i18n.js";
import * as outbox from "../outbox.js";
import * as personal from "../personal.js";
import {
  CHANNELS,
  COMMON_LANGUAGES,
  LIMITS,
  METHODS,
  OTHER_LANGUAGES,
  RELATIONSHIPS,
  URGENCIES,
  applies,
  body,
  consentProblems,
  emptyDraft,
  familyProblems,
  followUpChannel,
  followUpChannels,
  followUpDefault,
  localInputValue,
  memberName,
  programProblems,
  reconfirmationApplies,
} from "../referral.js";
import { href, navigate } from "../router.js";
import * as store from "../store.js";
import { Field, Notice, ScreenTitle, announce, html, useApp } from "../ui.js";

function Choice({ name, legend, options, value, onChange, error, labelOf, hint }) {
  return html`<fieldset class=${`choice${error ? " has-error" : ""}`} aria-describedby=${error ? `${name}-error` : null}>
    <legend>${legend}</legend>
    ${hint ? html`<p class="hint">${hint}</p>` : null}
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

const relationshipLabel = (code) => tOr(`relationship.${code}`, code);

/** One household member. The last one shown is always blank: typing a name there adds the
 *  member (its relationship and age appear), so adding someone costs no extra tap. */
function Member({ member, index, blank, set, remove, problems, shown }) {
  const err = (key) => (shown && problems[`member-${index}-${key}`] ? t(problems[`member-${index}-${key}`]) : null);
  const known = RELATIONSHIPS.includes(member.relationship);
  const [other, setOther] = useState(!known && member.relationship !== "");
  return html`<div class=${`member${blank ? " blank" : ""}`} role="group" aria-label=${t("form.member", { n: index + 1 })}>
    <div class="row">
      <${Field} id=${`member-${index}-name`} label=${t("form.given_name")} error=${err("name")}
        hint=${blank && index === 0 ? t("form.member_hint") : null}>
        <input id=${`member-${index}-name`} maxlength=${LIMITS.name} value=${member.givenName} autocomplete="off"
          onInput=${(e) => set({ givenName: e.currentTarget.value })} />
      </${Field}>
      ${blank
        ? null
        : html`<${Field} id=${`member-${index}-age`} label=${t("form.age_optional")} error=${err("age")}>
            <input id=${`member-${index}-age`} class="narrow" inputmode="numeric" maxlength="3" value=${member.age}
              onInput=${(e) => set({ age: e.currentTarget.value.trim() })} />
          </${Field}>`}
    </div>
    ${blank
      ? null
      : html`<fieldset class=${`choice compact${err("relationship") ? " has-error" : ""}`}>
          <legend>${t("form.relationship")}</legend>
          <div class="options chips-inline">
            ${RELATIONSHIPS.map(
              (code) => html`<label class="option pill">
                <input type="radio" name=${`member-${index}-relationship`} checked=${!other && member.relationship === code}
                  onChange=${() => { setOther(false); set({ relationship: code }); }} />
                <span>${relationshipLabel(code)}</span></label>`,
            )}
            <label class="option pill">
              <input type="radio" name=${`member-${index}-relationship`} checked=${other}
                onChange=${() => { setOther(true); set({ relationship: "" }); }} />
              <span>${t("form.relationship_other")}</span></label>
          </div>
          ${other
            ? html`<${Field} id=${`member-${index}-relationship`} label=${t("form.relationship_say")}>
                <input id=${`member-${index}-relationship`} maxlength=${LIMITS.relationship} value=${member.relationship}
                  onInput=${(e) => set({ relationship: e.currentTarget.value })} />
              </${Field}>`
            : null}
          ${err("relationship") ? html`<p class="error">${err("relationship")}</p>` : null}
        </fieldset>
        <button type="button" class="link danger" onClick=${remove}>${t("form.remove_member", { n: index + 1 })}</button>`}
  </div>`;
}

const blankMember = () => ({ key: crypto.randomUUID(), givenName: "", familyName: "", relationship: "", age: "" });
const isBlank = (m) => !m.givenName.trim() && !m.relationship && !String(m.age).trim();

function Household({ draft, problems, shown }) {
  const members = draft.household;
  // the blank row's key becomes the new member's: the same row stays, focus and all
  const [next, setNext] = useState(blankMember);
  const change = (household) => {
    // a guardian who is no longer a member is no longer the one who consented
    const keys = new Set(household.map((m) => m.key));
    const consent = draft.consent.guardianMember && !keys.has(draft.consent.guardianMember)
      ? { ...draft.consent, givenBy: "", guardianMember: null }
      : draft.consent;
    store.editDraft({ household, consent });
  };
  const rows = members.length < 20 ? [...members, next] : members;
  return html`<div class="household">
    <h3>${t("form.household")}</h3>
    ${rows.map((member, index) => {
      const blank = member === next;
      const set = (part) => {
        const edited = { ...member, ...part };
        if (blank) {
          if (isBlank(edited)) return;
          setNext(blankMember());
          return change([...members, edited]);
        }
        if (isBlank(edited) && index === members.length - 1) {
          // the last one emptied again becomes the blank row (the same row: focus stays)
          setNext(edited);
          return change(members.slice(0, -1));
        }
        return change(members.map((m) => (m.key === member.key ? edited : m)));
      };
      return html`<${Member} key=${member.key} member=${member} index=${index} blank=${blank} problems=${problems} shown=${shown}
        set=${set} remove=${() => change(members.filter((m) => m.key !== member.key))} />`;
    })}
  </div>`;
}

function LanguageChoice({ draft }) {
  const common = COMMON_LANGUAGES.includes(draft.contactLanguage);
  const [other, setOther] = useState(!common);
  const choose = (code) => store.editDraft({ contactLanguage: code });
  return html`<fieldset class="choice">
    <legend>${t("form.contact_language")}</legend>
    <div class="options">
      ${COMMON_LANGUAGES.map(
        (code) => html`<label class="option">
          <input type="radio" name="contact-language" checked=${!other && draft.contactLanguage === code}
            onChange=${() => { setOther(false); choose(code); }} />
          <span>${languageName(code)}</span></label>`,
      )}
      <label class="option">
        <input type="radio" name="contact-language" checked=${other}
          onChange=${() => { setOther(true); choose(OTHER_LANGUAGES[0]); }} />
        <span>${t("form.language_other")}</span></label>
      ${other
        ? html`<label class="visually-hidden" for="contact-language-other">${t("form.language_other")}</label>
          <select id="contact-language-other" class="auto" value=${draft.contactLanguage} onChange=${(e) => choose(e.currentTarget.value)}>
            ${OTHER_LANGUAGES.map((code) => html`<option value=${code}>${languageName(code)}</option>`)}
          </select>`
        : null}
    </div>
    <label class="check"><input type="checkbox" checked=${draft.interpreter} onChange=${(e) => store.editDraft({ interpreter: e.currentTarget.checked })} /> ${t("form.interpreter")}</label>
  </fieldset>`;
}

function ContactStep({ draft, problems, shown }) {
  const show = applies(draft);
  const err = (key) => (shown && problems[key] ? t(problems[key]) : null);
  return html`<section aria-labelledby="step-contact">
    <h2 id="step-contact">3. ${t("form.contact")}</h2>
    <${Choice} name="channel" legend=${t("form.channel")} options=${CHANNELS} value=${draft.channel}
      onChange=${(channel) => store.editDraft({ channel })} labelOf=${(c) => t(`channel.${c}`)} />
    ${show.phone || show.email
      ? html`<div class="row">
          ${show.phone
            ? html`<${Field} id="phone" label=${draft.channel === "email" ? t("form.phone_optional") : t("form.phone")} error=${err("phone")}>
                <input id="phone" type="tel" autocomplete="off" value=${draft.phone} onInput=${(e) => store.editDraft({ phone: e.currentTarget.value })} />
              </${Field}>`
            : null}
          ${show.email
            ? html`<${Field} id="email" label=${draft.channel === "email" ? t("form.email") : t("form.email_optional")} error=${err("email")}>
                <input id="email" type="email" autocomplete="off" value=${draft.email} onInput=${(e) => store.editDraft({ email: e.currentTarget.value })} />
              </${Field}>`
            : null}
        </div>`
      : null}
    ${show.safeToLeaveMessage
      ? html`<${Choice} name="safe-message" legend=${t("form.safe_message")} options=${[true, false]} value=${draft.safeToLeaveMessage}
          onChange=${(safeToLeaveMessage) => store.editDraft({ safeToLeaveMessage })} labelOf=${(v) => (v ? t("common.yes") : t("common.no"))}
          error=${err("safeToLeaveMessage") ? problems.safeToLeaveMessage : null} />`
      : null}
    ${show.bestTime
      ? html`<${Field} id="best-time" label=${t("form.best_time")}>
          <input id="best-time" maxlength=${LIMITS.bestTime} value=${draft.bestTime} onInput=${(e) => store.editDraft({ bestTime: e.currentTarget.value })} />
        </${Field}>`
      : null}
    ${show.officerPhone
      ? html`<${Field} id="officer-phone" label=${t("form.officer_phone")} hint=${t("form.officer_phone_hint")} error=${err("officerPhone")}>
          <input id="officer-phone" type="tel" value=${draft.officerPhone} onInput=${(e) => store.editDraft({ officerPhone: e.currentTarget.value })} />
        </${Field}>`
      : null}
    <${LanguageChoice} draft=${draft} />
    <${FollowUpChoice} draft=${draft} problems=${problems} shown=${shown} />
  </section>`;
}

/** How the family wants to be asked, later, whether it got help. The default follows the
 *  contact and safety (the server's rules); a message chosen for a family whose contact needs
 *  care asks for the safe hours and for the family to confirm again. */
function FollowUpChoice({ draft, problems, shown }) {
  const channels = followUpChannels(draft);
  const current = followUpChannel(draft);
  const fallback = followUpDefault(draft);
  const err = (key) => (shown && problems[key] ? t(problems[key]) : null);
  return html`<fieldset class=${`choice follow-up${err("followUp") || err("safeHours") || err("followUpReconfirmed") ? " has-error" : ""}`}>
    <legend>${t("family.follow_up")}</legend>
    <p class="hint">${t("family.follow_up_hint")}</p>
    <div class="options">
      ${channels.map(
        (channel) => html`<label class="option">
          <input type="radio" name="follow-up" value=${channel} checked=${current === channel}
            onChange=${() => store.editDraft({ followUp: channel })} />
          <span>${t(`family.channel.${channel}`)}${channel === fallback && draft.followUp === null ? html` <span class="muted">${t("family.default")}</span>` : null}</span>
        </label>`,
      )}
    </div>
    ${err("followUp") ? html`<p class="error">${err("followUp")}</p>` : null}
    ${reconfirmationApplies(draft)
      ? html`<div class="reconfirm">
          <p class="hint">${t("family.safety_hint")}</p>
          <div class="row">
            <${Field} id="safe-from" label=${`${t("family.safe_hours")}: ${t("family.safe_hours_from")}`}>
              <input id="safe-from" type="time" class="auto" value=${draft.safeFrom} onInput=${(e) => store.editDraft({ safeFrom: e.currentTarget.value })} />
            </${Field}>
            <${Field} id="safe-to" label=${t("family.safe_hours_to")}>
              <input id="safe-to" type="time" class="auto" value=${draft.safeTo} onInput=${(e) => store.editDraft({ safeTo: e.currentTarget.value })} />
            </${Field}>
          </div>
          ${err("safeHours") ? html`<p class="error">${err("safeHours")}</p>` : null}
          <label class="check"><input type="checkbox" checked=${draft.followUpReconfirmed}
            onChange=${(e) => store.editDraft({ followUpReconfirmed: e.currentTarget.checked })} /> ${t("family.reconfirmed")}</label>
          ${err("followUpReconfirmed") ? html`<p class="error">${err("followUpReconfirmed")}</p>` : null}
        </div>`
      : null}
  </fieldset>`;
}

function NeedsStep({ draft, needs, problems, shown }) {
  const err = (key) => (shown && problems[key] ? t(problems[key]) : null);
  return html`<section aria-labelledby="step-needs">
    <h2 id="step-needs">4. ${t("form.needs")}</h2>
    <fieldset class=${`needs${err("needs") ? " has-error" : ""}`}>
      <legend>${t("form.needs_legend")}</legend>
      <div class="options">
        ${needs.map(
          (term) => html`<label class="option"><input type="checkbox" checked=${draft.needs.includes(term.code)}
            onChange=${(e) => store.editDraft({ needs: e.currentTarget.checked ? [...draft.needs, term.code] : draft.needs.filter((n) => n !== term.code) })} />
            <span>${tOr(`need.${term.code}`, term.name)}</span></label>`,
        )}
      </div>
      ${err("needs") ? html`<p class="error">${err("needs")}</p>` : null}
    </fieldset>
    <${Choice} name="urgency" legend=${t("form.urgency")} options=${URGENCIES} value=${draft.urgency}
      onChange=${(urgency) => store.editDraft({ urgency })} labelOf=${(u) => t(`urgency.${u}`)} error=${shown ? problems.urgency : null} />
    <label class="check"><input type="checkbox" checked=${draft.safetyConcerns}
      onChange=${(e) => store.editDraft({ safetyConcerns: e.currentTarget.checked })} /> ${t("family.safety_concerns")}</label>
    <p class="hint">${t("family.safety_hint")}</p>
    <${Field} id="situation" label=${t("form.situation")} hint=${t("form.situation_hint")}>
      <textarea id="situation" rows="3" maxlength=${LIMITS.situation} value=${draft.situation}
        onInput=${(e) => store.editDraft({ situation: e.currentTarget.value })}></textarea>
    </${Field}>
  </section>`;
}

/** Who consented: the person, a household member already entered (as guardian), or another
 *  guardian named here. One choice, one tap. */
function WhoConsented({ draft, error, nameError }) {
  const consent = draft.consent;
  const members = draft.household.filter((m) => m.givenName.trim());
  const value = consent.givenBy === "client" ? "client" : consent.givenBy === "guardian" ? (consent.guardianMember ?? "other") : null;
  const choose = (choice) => {
    if (choice === "client") store.editConsent({ givenBy: "client", guardianMember: null });
    else if (choice === "other") store.editConsent({ givenBy: "guardian", guardianMember: null });
    else store.editConsent({ givenBy: "guardian", guardianMember: choice });
  };
  const you = [draft.givenName.trim(), draft.familyName.trim()].filter(Boolean).join(" ");
  return html`<fieldset class=${`choice${error || nameError ? " has-error" : ""}`}>
    <legend>${t("consent.given_by")}</legend>
    <div class="options column">
      <label class="option"><input type="radio" name="given-by" value="client" checked=${value === "client"} onChange=${() => choose("client")} />
        <span>${you ? t("consent.by_client_named", { name: you }) : t("consent.by_client")}</span></label>
      ${members.map(
        (m) => html`<label class="option"><input type="radio" name="given-by" value=${m.key} checked=${value === m.key} onChange=${() => choose(m.key)} />
          <span>${t("consent.by_member", { name: memberName(m, draft), relationship: m.relationship ? relationshipLabel(m.relationship) : t("consent.guardian") })}</span></label>`,
      )}
      <label class="option"><input type="radio" name="given-by" value="other" checked=${value === "other"} onChange=${() => choose("other")} />
        <span>${t("consent.by_other_guardian")}</span></label>
    </div>
    ${value === "other"
      ? html`<${Field} id="guardian-name" label=${t("consent.guardian_name")} error=${nameError ? t(nameError) : null}>
          <input id="guardian-name" maxlength=${LIMITS.name} value=${consent.guardianName} onInput=${(e) => store.editConsent({ guardianName: e.currentTarget.value })} />
        </${Field}>`
      : null}
    ${error ? html`<p class="error">${t(error)}</p>` : null}
  </fieldset>`;
}

function ConsentStep({ draft, issues, shown }) {
  const consent = draft.consent;
  const lang = consentLanguage(draft);
  const cerr = (key) => (shown && issues[key] ? issues[key] : null);
  return html`<section aria-labelledby="step-consent" class="consent">
    <h2 id="step-consent">5. ${t("form.consent")}</h2>
    <div class="row between">
      <p class="hint">${t("consent.read_in", { language: languageName(lang) })}</p>
      <label class="inline-select">${t("consent.language")}
        <select class="auto" value=${lang} onChange=${(e) => store.editConsent({ language: e.currentTarget.value })}>
          ${CONSENT_LANGUAGES.map((code) => html`<option value=${code}>${languageName(code)}</option>`)}
        </select>
      </label>
    </div>
    ${noTextInFamilyLanguage(draft) ? html`<${Notice} kind="warn">${t("consent.no_text", { language: languageName(draft.contactLanguage) })}</${Notice}>` : null}
    <blockquote class="consent-text" lang=${lang}>${consentText(lang)}</blockquote>
    <p class="hint">${t("consent.version", { version: consentTextVersion(lang) })}</p>
    <${WhoConsented} draft=${draft} error=${cerr("givenBy")} nameError=${cerr("guardianName")} />
    <${Choice} name="method" legend=${t("consent.method")} options=${METHODS} value=${consent.method}
      onChange=${(method) => store.editConsent({ method })} labelOf=${(m) => t(`consent.method_${m}`)} error=${cerr("method")} />
    <fieldset class="scopes">
      <legend>${t("consent.scopes")}</legend>
      ${SCOPES.map(
        (scope) => html`<label class="option"><input type="checkbox" checked=${consent.scopes.includes(scope)}
          disabled=${scope === "contact"}
          onChange=${(e) => store.editConsent({ scopes: e.currentTarget.checked ? [...consent.scopes, scope] : consent.scopes.filter((s) => s !== scope) })} />
          <span>${t(`scope.${scope}`)}</span></label>`,
      )}
    </fieldset>
    <${Field} id="given-at" label=${t("consent.given_at")} error=${cerr("givenAt") ? t(cerr("givenAt")) : null}>
      <input id="given-at" class="auto" type="datetime-local" value=${consent.givenAt}
        onInput=${(e) => store.editConsent({ givenAt: e.currentTarget.value, timeEdited: true })} />
    </${Field}>
    <label class="check confirm-consent">
      <input id="consent-confirmed" type="checkbox" checked=${consent.confirmed}
        onChange=${(e) => {
          const confirmed = e.currentTarget.checked;
          // the family agrees now (unless the officer wrote down another time)
          store.editConsent(confirmed && !consent.timeEdited ? { confirmed, givenAt: localInputValue(new Date()) } : { confirmed });
        }} />
      ${t("consent.confirm")}
    </label>
  </section>`;
}

/** The officer's own work phone, remembered (sealed) from the last referral that had it. */
function useOfficerPhone(owner, draft) {
  const wanted = applies(draft).officerPhone && !draft.officerPhone;
  useEffect(() => {
    if (!wanted) return;
    personal.read(owner, "profile").then((kept) => {
      const phone = kept?.value?.officerPhone;
      if (phone && !store.getState().draft?.officerPhone) store.editDraft({ officerPhone: phone });
    });
  }, [wanted]);
}

export function ReferScreen() {
  const { config, session, flush, requestBackgroundSync } = useApp();
  const cart = store.useStore((s) => s.cart);
  const draft = store.useStore((s) => s.draft) ?? emptyDraft();
  const [failure, setFailure] = useState(null);
  const [needs, setNeeds] = useState([]);
  const [shown, setShown] = useState(false);
  const [sending, setSending] = useState(false);
  useOfficerPhone(session.user.id, draft);

  useEffect(() => {
    directory.needs(config).then(setNeeds);
  }, []);

  const problems = { ...familyProblems(draft), ...programProblems(cart) };
  const consentIssues = consentProblems(draft);
  const consentDone = Object.keys(consentIssues).length === 0;
  const ready = consentDone && !Object.keys(problems).length && cart.length > 0;

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
    const lang = consentLanguage(draft);
    const label = { family: `${draft.givenName.trim()} ${draft.familyName.trim()}`, programs: cart.map((p) => p.name) };
    let item;
    try {
      item = await outbox.file(session.user.id, body(draft, cart, consentTextVersion(lang)), label);
    } catch {
      setFailure(t("outbox.file_failed"));
      setSending(false);
      return;
    }
    if (applies(draft).officerPhone && draft.officerPhone.trim()) {
      personal.keep(session.user.id, "profile", { officerPhone: draft.officerPhone.trim() }).catch(() => {});
    }
    store.discardDraft();
    store.filed(item.id);
    requestBackgroundSync();
    navigate("mine");
    flush(true);
  };

  return html`<form class="refer" onSubmit=${send} novalidate autocomplete="off">
    <${ScreenTitle}>${t("form.title")}</${ScreenTitle}>
    ${failure ? html`<${Notice} kind="error">${failure}</${Notice}>` : null}

    <section aria-labelledby="step-programs">
      <h2 id="step-programs">1. ${t("form.programs")}</h2>
      ${cart.length
        ? html`<ul class="plain chosen-programs">${cart.map(
            (p) => html`<li key=${p.id}><span lang=${directory.CONTENT_LANGUAGE}>${p.name}</span>
              ${p.phone ? html` <span class="muted">${p.phone}</span>` : null}
              <button type="button" class="link danger" onClick=${() => store.dropProgram(p.id)}>${t("form.remove_program", { name: p.name })}</button></li>`,
          )}</ul>`
        : html`<${Notice} kind=${shown ? "error" : "info"}>${t("form.no_programs")}</${Notice}>`}
      ${shown && problems.programs ? html`<${Notice} kind="error">${t(problems.programs)}</${Notice}>` : null}
      <a href=${href("search")}>${t("form.add_programs")}</a>
    </section>

    <section aria-labelledby="step-family">
      <h2 id="step-family">2. ${t("form.family")}</h2>
      <div class="row">
        <${Field} id="given-name" label=${t("form.given_name")} error=${shown && problems.givenName ? t(problems.givenName) : null}>
          <input id="given-name" autocomplete="off" maxlength=${LIMITS.name} value=${draft.givenName} onInput=${(e) => store.editDraft({ givenName: e.currentTarget.value })} />
        </${Field}>
        <${Field} id="family-name" label=${t("form.family_name")} error=${shown && problems.familyName ? t(problems.familyName) : null}>
          <input id="family-name" autocomplete="off" maxlength=${LIMITS.name} value=${draft.familyName} onInput=${(e) => store.editDraft({ familyName: e.currentTarget.value })} />
        </${Field}>
        <${Field} id="client-age" label=${t("form.age_optional")} error=${shown && problems.age ? t(problems.age) : null}>
          <input id="client-age" class="narrow" inputmode="numeric" maxlength="3" value=${draft.age} onInput=${(e) => store.editDraft({ age: e.currentTarget.value.trim() })} />
        </${Field}>
      </div>
      <${Household} draft=${draft} problems=${problems} shown=${shown} />
    </section>

    <${ContactStep} draft=${draft} problems=${problems} shown=${shown} />
    <${NeedsStep} draft=${draft} needs=${needs} problems=${problems} shown=${shown} />
    <${ConsentStep} draft=${draft} issues=${consentIssues} shown=${shown} />

    <div class="sendbar">
      <p id="send-state" aria-live="polite">${consentDone ? (ready ? t("form.ready") : t("form.incomplete")) : t("form.consent_first")}</p>
      <button class="primary" type="submit" id="send-referral" disabled=${!consentDone || sending} aria-describedby="send-state">
        ${t("form.send", { count: cart.length })}</button>
    </div>
  </form>`;
}

