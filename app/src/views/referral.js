// One of the officer's referrals: the program and how to reach it, the reference to quote on
// the phone, the response clock, what the family agreed to share and who consented, the
// history; cancel, record a withdrawal of consent, and after a decline (or "could not serve")
// refer the family elsewhere: a new referral with the family filled in and programs for the
// same needs.
import { useEffect, useState } from "preact/hooks";
import { call } from "../api.js";
import { FINAL, moveReferral, openReferral, withdrawConsent } from "../casework.js";
import * as directory from "../directory.js";
import { formatDateTime, languageName, t, tOr } from "../i18n.js";
import * as outbox from "../outbox.js";
import { draftFrom, emptyDraft, localInputValue } from "../referral.js";
import { href, navigate } from "../router.js";
import * as store from "../store.js";
import * as tracking from "../tracking.js";
import { Notice, ScreenTitle, StatusBadge, announce, html, problemText, useApp, useNow } from "../ui.js";
import { Hours, telHref } from "./cards.js";
import { History } from "./history.js";
import { Clock, Urgency } from "./clock.js";

const OFFICER_CANCEL_REASONS = ["need-resolved", "client-declined", "filed-in-error", "duplicate", "other"];
const REFER_AGAIN = ["rejected", "failed"];

function ProgramContact({ programId }) {
  const { config } = useApp();
  const [program, setProgram] = useState(null);
  useEffect(() => {
    directory.program(config, programId).then((found) => setProgram(found.service), () => setProgram(null));
  }, [programId]);
  if (!program) return null;
  const address = (program.service_at_locations ?? [])
    .flatMap((l) => l.location?.addresses ?? [])
    .map((a) => [a.address_1, a.city].filter(Boolean).join(", "))[0];
  return html`<dl class="facts program-contact">
    ${(program.phones ?? []).length
      ? html`<div><dt>${t("program.phone")}</dt><dd>${program.phones.map((p) => html`<a class="tel" href=${telHref(p.number)}>${p.number}</a> `)}</dd></div>`
      : null}
    ${address ? html`<div><dt>${t("share.address")}</dt><dd lang=${directory.CONTENT_LANGUAGE}>${address}</dd></div>` : null}
    <div><dt>${t("program.hours")}</dt><dd><${Hours} service=${program} /></dd></div>
  </dl>
  <p><a href=${href("program", program.id)}>${t("referral.program_page")}</a></p>`;
}

function ConsentRecord({ consent }) {
  const by = consent.given_by === "guardian"
    ? t("referral.consent_by_guardian", { name: consent.given_by_name ?? "" })
    : t("referral.consent_by_client");
  const lang = consent.text_version?.split("/")[1];
  return html`<dl class="facts wide consent-record">
    <div><dt>${t("referral.shared")}</dt><dd>${consent.scopes.map((s) => t(`scope.${s}`)).join(", ")}</dd></div>
    <div><dt>${t("consent.given_by")}</dt><dd>${by} · ${t(`consent.method_${consent.method}`)} · ${formatDateTime(consent.given_at)}</dd></div>
    ${consent.text_version
      ? html`<div><dt>${t("referral.consent_text")}</dt><dd>${lang ? `${languageName(lang)} · ` : ""}${consent.text_version}</dd></div>`
      : null}
    ${consent.withdrawn_at ? html`<div><dt>${t("referral.withdrawn")}</dt><dd>${formatDateTime(consent.withdrawn_at)}</dd></div>` : null}
  </dl>`;
}

const ANSWERS = ["got-help", "not-yet", "could-not-reach", "no-longer-needed"];

/** The family's follow-up: how it is asked, and what it said — or, when the officer is the
 *  one to ask, the four answers to record what the family told them. */
function FamilyFollowUp({ referral, onRecorded }) {
  const { config, session } = useApp();
  const [comment, setComment] = useState("");
  const [error, setError] = useState(null);
  const followUp = referral.follow_up;
  const feedback = referral.family_feedback;
  const record = async (answer) => {
    setError(null);
    try {
      await call(`${config.referrals_url}/referrals/${encodeURIComponent(referral.id)}/family-feedback`, {
        method: "POST",
        token: session.token,
        body: { answer, ...(comment.trim() ? { comment: comment.trim() } : {}) },
      });
      announce(t("family.feedback", { answer: t(`family.answer.${answer}`) }));
      onRecorded();
      tracking.refreshNow(); // "My referrals" shows it at once, not at the next poll
    } catch (e) {
      setError(e);
    }
  };
  if (!followUp && !feedback) return null;
  return html`<section aria-labelledby="follow-up-title" class="follow-up-record">
    <h2 id="follow-up-title">${t("family.follow_up")}</h2>
    ${followUp
      ? html`<p>${`${t(`family.channel.${followUp.channel}`)} · ${t(`family.status.${followUp.status}`, { at: followUp.due_at ? formatDateTime(followUp.due_at) : "" })}`}</p>`
      : null}
    ${feedback
      ? html`<${Notice} kind=${feedback.answer === "got-help" || feedback.answer === "no-longer-needed" ? "info" : "warn"}>
          <div><p><strong>${t("family.feedback", { answer: t(`family.answer.${feedback.answer}`) })}</strong>
            ${` · ${t(`family.via.${feedback.via}`)} · ${formatDateTime(feedback.at)}`}</p>
          ${feedback.comment ? html`<p>${t("family.comment")}: «${feedback.comment}»</p>` : null}</div>
        </${Notice}>`
      : referral.ask_family
        ? html`<div class="ask-family" role="group" aria-labelledby="ask-family-title">
            <p id="ask-family-title"><strong>${t("family.ask")}</strong></p>
            <label for="family-comment">${t("family.comment")} (${t("common.optional")})</label>
            <textarea id="family-comment" rows="2" maxlength="1000" value=${comment} onInput=${(e) => setComment(e.currentTarget.value)}></textarea>
            <div class="row">${ANSWERS.map((answer) => html`<button type="button" onClick=${() => record(answer)}>${t(`family.answer.${answer}`)}</button>`)}</div>
            ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
          </div>`
        : null}
  </section>`;
}

/** The family of `referral`, back in the form for a new referral (from the server, which shows
 *  the filing officer everything, or else the copy sealed on this tablet). */
async function referElsewhere(config, session, referral) {
  let draft;
  if (referral.client) {
    draft = draftFrom({ client: referral.client, needs: referral.needs, urgency: referral.urgency, situation: referral.situation, officer_contact: referral.officer_contact });
  } else {
    const label = (await outbox.familyNames(session.user.id)).get(referral.id);
    const [givenName = "", ...rest] = (label ?? "").split(" ");
    draft = { ...emptyDraft(), givenName, familyName: rest.join(" "), needs: referral.needs ?? [], urgency: referral.urgency };
  }
  // a new referral is a new consent: asked again, now
  draft.consent = { ...emptyDraft().consent, scopes: referral.consent?.scopes ?? ["contact", "needs"], givenAt: localInputValue(new Date()) };
  store.startDraft(draft, []);
  const terms = await directory.needs(config);
  const first = terms.find((term) => term.code === draft.needs[0]);
  store.rememberSearch({
    filters: { ...directory.NEW_FILTERS, term: first?.id ?? null },
    result: null,
    folded: true,
    elsewhere: { family: `${draft.givenName} ${draft.familyName}`.trim(), not: referral.program_id, notName: referral.program_name },
  });
  navigate("search");
}

export function ReferralScreen({ id }) {
  const { config, session } = useApp();
  const now = useNow();
  const [referral, setReferral] = useState(null);
  const [error, setError] = useState(null);
  const [reason, setReason] = useState("");
  const [note, setNote] = useState("");
  const [withdrawNote, setWithdrawNote] = useState("");
  const [confirming, setConfirming] = useState(null); // "cancel" | "withdraw"
  const [message, setMessage] = useState(null);
  const tracked = tracking.useTracking();
  const changed = tracked.changed.has(id);

  const load = () =>
    openReferral(config, session.token, id).then((found) => {
      setReferral(found);
      tracking.markSeen([found]); // looked at as it is now
    }, setError);
  useEffect(() => {
    load();
  }, [id]);

  const cancel = async () => {
    try {
      await moveReferral(config, session.token, referral, "cancelled", { reason, note });
      setMessage(t("referral.cancelled"));
      announce(t("referral.cancelled"));
      setConfirming(null);
      load();
    } catch (e) {
      setMessage(problemText(e));
      if (e.status === 412) load();
    }
  };
  const withdraw = async () => {
    try {
      const cancelled = await withdrawConsent(config, session.token, referral.case_id, withdrawNote);
      const text = t("referral.withdrawal_recorded", { count: cancelled.length });
      setMessage(text);
      announce(text);
      setConfirming(null);
      load();
    } catch (e) {
      setMessage(problemText(e));
    }
  };

  if (error) return html`<${Notice} kind="error">${problemText(error)}</${Notice}>`;
  if (!referral) return html`<p>${t("common.loading")}</p>`;
  const open = !FINAL.includes(referral.status);
  const client = referral.client ?? {};
  const declined = REFER_AGAIN.includes(referral.status);
  const lastMove = referral.history?.at(-1);
  return html`<article class="referral">
    <p><a href=${href("mine")}>← ${t("mine.back")}</a></p>
    <${ScreenTitle}>${client.given_name ? `${client.given_name} ${client.family_name ?? ""}` : referral.family_label ?? referral.program_name}</${ScreenTitle}>
    <div class="referral-head">
      ${referral.reference ? html`<p class="reference big">${t("referral.reference")} <strong>${referral.reference}</strong></p>` : null}
      <p class="inbox-card-line"><${StatusBadge} status=${referral.status} /> <${Urgency} urgency=${referral.urgency} /> ${t("referral.filed", { at: formatDateTime(referral.created_at) })}
        ${" "}<${Clock} referral=${referral} now=${now} />
        ${referral.overdue ? html` <span class="badge badge-bad">${t("referral.overdue")}</span>` : null}
        ${referral.agency_not_reached ? html` <span class="badge badge-bad">${t("referral.not_reached")}</span>` : null}</p>
    </div>
    ${message ? html`<${Notice}>${message}</${Notice}>` : null}
    ${declined
      ? html`<${Notice} kind="warn">
          <p><strong>${t(`referral.answer_${referral.status}`)}</strong>
            ${lastMove?.reason_code ? ` · ${tOr(`reason.${lastMove.reason_code}`, lastMove.reason_code)}` : ""}
            ${lastMove?.note ? html`<br />${lastMove.note}` : null}</p>
          <button class="primary" onClick=${() => referElsewhere(config, session, referral)}>${t("referral.refer_elsewhere")}</button>
        </${Notice}>`
      : changed ? html`<${Notice}>${t("referral.changed")}</${Notice}>` : null}
    <h2>${t("referral.program")}</h2>
    <p lang=${directory.CONTENT_LANGUAGE}><strong>${referral.program_name}</strong></p>
    <${ProgramContact} programId=${referral.program_id} />
    <${FamilyFollowUp} referral=${referral} onRecorded=${load} />
    ${referral.consent ? html`<h2>${t("referral.consent")}</h2><${ConsentRecord} consent=${referral.consent} />` : null}
    <h2>${t("referral.history")}</h2>
    <${History} entries=${referral.history} />
    <div class="actions">
      ${open ? html`<button class="danger" onClick=${() => setConfirming("cancel")}>${t("referral.cancel")}</button>` : null}
      ${referral.consent && !referral.consent.withdrawn_at
        ? html`<button onClick=${() => setConfirming("withdraw")}>${t("referral.withdraw")}</button>`
        : null}
    </div>
    ${confirming === "cancel"
      ? html`<div class="confirm" role="group" aria-labelledby="cancel-title">
          <h2 id="cancel-title">${t("referral.cancel")}</h2>
          <label for="cancel-reason">${t("referral.reason")}</label>
          <select id="cancel-reason" value=${reason} onChange=${(e) => setReason(e.currentTarget.value)}>
            <option value="">${t("referral.pick_reason")}</option>
            ${OFFICER_CANCEL_REASONS.map((r) => html`<option value=${r}>${t(`reason.${r}`)}</option>`)}
          </select>
          <label for="cancel-note">${t("referral.note")}</label>
          <textarea id="cancel-note" rows="2" maxlength="2000" value=${note} onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
          <div class="row">
            <button class="danger" disabled=${!reason} onClick=${cancel}>${t("referral.confirm_cancel")}</button>
            <button onClick=${() => setConfirming(null)}>${t("common.cancel")}</button>
          </div>
        </div>`
      : null}
    ${confirming === "withdraw"
      ? html`<div class="confirm" role="group" aria-labelledby="withdraw-title">
          <h2 id="withdraw-title">${t("referral.withdraw")}</h2>
          <p>${t("referral.withdraw_explain")}</p>
          <label for="withdraw-note">${t("referral.note")}</label>
          <textarea id="withdraw-note" rows="2" maxlength="2000" value=${withdrawNote} onInput=${(e) => setWithdrawNote(e.currentTarget.value)}></textarea>
          <div class="row">
            <button class="danger" onClick=${withdraw}>${t("referral.confirm_withdraw")}</button>
            <button onClick=${() => setConfirming(null)}>${t("common.cancel")}</button>
          </div>
        </div>`
      : null}
  </article>`;
}
