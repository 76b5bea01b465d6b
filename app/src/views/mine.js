// The officer's referrals: first what is still on this tablet (with its send state), then what
// the server holds (status, response clock, flags), polled without a reload.
import { useEffect, useState } from "preact/hooks";
import { withQuery } from "../api.js";
import { AWAITING_ANSWER, FINAL, moveReferral, openReferral, withdrawConsent } from "../casework.js";
import { formatDateTime, formatDuration, t } from "../i18n.js";
import * as outbox from "../outbox.js";
import { usePolledList } from "../poll.js";
import { draftFrom } from "../referral.js";
import { href, navigate } from "../router.js";
import { Notice, ScreenTitle, StatusBadge, announce, html, problemText, useApp } from "../ui.js";
import { History } from "./history.js";
import { loadDraft } from "./refer.js";
import { useOutbox } from "./shell.js";

const OFFICER_CANCEL_REASONS = ["need-resolved", "client-declined", "filed-in-error", "duplicate", "other"];

function TabletItem({ item }) {
  const { setCart } = useApp();
  const [shown, setShown] = useState(null);
  const [discarding, setDiscarding] = useState(false);
  const editCopy = () => {
    const programs = shown.body.program_ids.map((id, i) => ({ id, name: shown.label.programs[i] ?? id }));
    loadDraft(draftFrom(shown.body));
    setCart(programs);
    navigate("refer");
  };
  useEffect(() => {
    outbox.reveal(item).then(setShown, () => setShown(null));
  }, [item]);
  const state = item.state;
  return html`<li class=${`card outbox-${state}`} data-outbox-id=${item.id}>
    <div class="card-head">
      <h3>${shown ? shown.label.family : t("outbox.locked_item")}</h3>
      <span class=${`badge send-${state}`}>${t(`send.${state}`)}</span>
    </div>
    ${shown ? html`<p>${shown.label.programs.join(", ")}</p>` : null}
    <p class="muted">${t("outbox.filed_at", { at: formatDateTime(item.created_at) })}
      ${item.attempts ? ` · ${t("outbox.attempts", { count: item.attempts })}` : ""}</p>
    ${state === "refused"
      ? html`<${Notice} kind="error"><strong>${t("outbox.refused")}</strong> ${problemText(item.error)}
          <div class="row">
            ${shown ? html`<button onClick=${editCopy}>${t("outbox.edit_copy")}</button>` : null}
            ${discarding
              ? html`<span>${t("outbox.really_discard")}</span>
                  <button class="danger" onClick=${() => outbox.discard(item.id)}>${t("outbox.discard")}</button>
                  <button onClick=${() => setDiscarding(false)}>${t("common.cancel")}</button>`
              : html`<button class="danger" onClick=${() => setDiscarding(true)}>${t("outbox.discard")}</button>`}
          </div>
        </${Notice}>`
      : null}
    ${state === "confirmed" ? html`<p class="muted">${t("outbox.confirmed_note")}</p>` : null}
  </li>`;
}

function clock(referral, now) {
  if (!AWAITING_ANSWER.includes(referral.status)) return null;
  const left = Date.parse(referral.respond_by) - now;
  return left >= 0
    ? html`<span class="clock">${t("clock.left", { time: formatDuration(left) })}</span>`
    : html`<span class="clock overdue">${t("clock.overdue", { time: formatDuration(left) })}</span>`;
}

export function ReferralRow({ referral, to, now, family }) {
  return html`<li class="card referral-row" data-referral-id=${referral.id}>
    <div class="card-head">
      <h3><a href=${to}>${family || referral.program_name || t("referral.untitled")}</a></h3>
      <${StatusBadge} status=${referral.status} />
    </div>
    <p>${family ? `${referral.program_name} · ` : ""}${t(`urgency.${referral.urgency}`)}</p>
    <p class="muted">${t("referral.filed", { at: formatDateTime(referral.created_at) })} ${clock(referral, now)}</p>
    <p>
      ${referral.overdue ? html`<span class="badge badge-bad">${t("referral.overdue")}</span> ` : null}
      ${referral.agency_not_reached ? html`<span class="badge badge-bad">${t("referral.not_reached")}</span> ` : null}
      ${referral.consent_withdrawn ? html`<span class="badge badge-muted">${t("referral.withdrawn")}</span>` : null}
    </p>
  </li>`;
}

export function useNow(everyMs = 30_000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, []);
  return now;
}

export function MyReferralsScreen() {
  const { config, session, flush, sendState } = useApp();
  const items = useOutbox(session.user.id);
  const now = useNow();
  const list = usePolledList(
    (cursor, limit) => withQuery(config.referrals_url, "/referrals", { mine: true, sort: "newest", limit, cursor }),
    session.token,
    [session.token],
  );
  const [names, setNames] = useState(new Map());
  useEffect(() => {
    outbox.forgetOldConfirmed(session.user.id).then(() => outbox.familyNames(session.user.id)).then(setNames);
  }, [items]);
  const onTablet = items.filter((i) => i.state !== "confirmed");
  const unsent = items.filter((i) => i.state === "waiting" || i.state === "sent");

  return html`<section>
    <${ScreenTitle}>${t("mine.title")}</${ScreenTitle}>
    <section aria-labelledby="on-tablet">
      <div class="row between">
        <h2 id="on-tablet">${t("mine.on_tablet")}</h2>
        ${unsent.length ? html`<button onClick=${() => flush(true)}>${t("outbox.send_now")}</button>` : null}
      </div>
      ${sendState === "locked" ? html`<${Notice} kind="warn">${t("outbox.unlock_to_send")}</${Notice}>` : null}
      ${sendState === "offline" && unsent.length ? html`<${Notice} kind="warn">${t("outbox.offline")}</${Notice}>` : null}
      ${onTablet.length
        ? html`<ul class="cards outbox">${onTablet.map((item) => html`<${TabletItem} key=${item.id} item=${item} />`)}</ul>`
        : html`<p class="muted">${t("mine.nothing_on_tablet")}</p>`}
    </section>
    <section aria-labelledby="on-server">
      <h2 id="on-server">${t("mine.on_server")}</h2>
      ${list.error ? html`<${Notice} kind="warn">${t("mine.server_unreachable")}</${Notice}>` : null}
      ${list.items === null && !list.error ? html`<p>${t("common.loading")}</p>` : null}
      <ul class="cards">
        ${(list.items ?? []).map((r) => html`<${ReferralRow} key=${r.id} referral=${r} to=${href("mine", r.id)} now=${now} family=${names.get(r.id)} />`)}
      </ul>
      ${list.next ? html`<button onClick=${list.more} disabled=${list.loadingMore}>${t("common.load_more")}</button>` : null}
    </section>
  </section>`;
}

export function ReferralScreen({ id }) {
  const { config, session } = useApp();
  const [referral, setReferral] = useState(null);
  const [error, setError] = useState(null);
  const [reason, setReason] = useState("");
  const [note, setNote] = useState("");
  const [withdrawNote, setWithdrawNote] = useState("");
  const [confirming, setConfirming] = useState(null); // "cancel" | "withdraw"
  const [message, setMessage] = useState(null);

  const load = () => openReferral(config, session.token, id).then(setReferral, setError);
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
  return html`<article>
    <p><a href=${href("mine")}>← ${t("mine.back")}</a></p>
    <${ScreenTitle}>${client.given_name ? `${client.given_name} ${client.family_name ?? ""}` : referral.program_name}</${ScreenTitle}>
    <p><${StatusBadge} status=${referral.status} /> ${referral.program_name} · ${t(`urgency.${referral.urgency}`)}
      ${referral.overdue ? html` <span class="badge badge-bad">${t("referral.overdue")}</span>` : null}
      ${referral.agency_not_reached ? html` <span class="badge badge-bad">${t("referral.not_reached")}</span>` : null}</p>
    ${message ? html`<${Notice}>${message}</${Notice}>` : null}
    <h2>${t("referral.history")}</h2>
    <${History} entries=${referral.history} />
    ${referral.consent
      ? html`<h2>${t("referral.consent")}</h2>
        <p>${referral.consent.scopes.map((s) => t(`scope.${s}`)).join(", ")} · ${formatDateTime(referral.consent.given_at)}
          ${referral.consent.withdrawn_at ? html` · <strong>${t("referral.withdrawn")}</strong>` : null}</p>`
      : null}
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
