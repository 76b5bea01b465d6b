// The officer's referrals: what was just filed, moving visibly from this tablet to the server
// ("Sent to 2 programs · BR-7K3F9 · BR-Q2M4X"); what is still on this tablet; and what the
// server holds, grouped by family, with what changed since the officer last looked marked.
// Statuses the server confirmed stay readable offline (sealed on the tablet, with their date).
import { useEffect, useState } from "preact/hooks";
import { Problem } from "../api.js";
import * as connection from "../connection.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { formatDateTime, t } from "../i18n.js";
import * as outbox from "../outbox.js";
import { draftFrom } from "../referral.js";
import { href, navigate } from "../router.js";
import * as store from "../store.js";
import { useTracking } from "../tracking.js";
import * as tracking from "../tracking.js";
import { Notice, ScreenTitle, StatusBadge, announce, html, problemText, useApp, useNow } from "../ui.js";
import { Clock, Urgency } from "./clock.js";
import { useOutbox } from "./shell.js";

const STEPS = ["waiting", "sent", "confirmed"];

function Steps({ state }) {
  const at = STEPS.indexOf(state);
  return html`<ol class="steps" aria-label=${t("send.progress")}>
    ${STEPS.map(
      (step, i) => html`<li class=${i < at ? "done" : i === at ? "current" : ""} aria-current=${i === at ? "step" : null}>
        ${i < at ? html`<span aria-hidden="true">✓ </span>` : null}${t(`step.${step}`)}</li>`,
    )}
  </ol>`;
}

/** The referral just filed, followed until the server has it. */
function FiledConfirmation({ items }) {
  const lastFiled = store.useStore((s) => s.lastFiled);
  const item = items.find((i) => i.id === lastFiled);
  const [shown, setShown] = useState(null);
  useEffect(() => {
    if (item) outbox.reveal(item).then(setShown, () => setShown(null));
  }, [item?.id, item?.state]);
  useEffect(() => {
    if (item?.state === "confirmed") announce(t("filed.sent", { count: item.result.referral_ids.length }));
  }, [item?.state]);
  if (!item) return null;
  const count = item.result?.referral_ids.length ?? shown?.label.programs.length ?? 0;
  let text;
  if (item.state === "confirmed") {
    const refs = item.result.references ?? [];
    text = html`<strong>${t("filed.sent", { count })}</strong>${refs.map((r) => html` · <span class="reference">${r}</span>`)}`;
  } else if (item.state === "refused") text = html`<strong>${t("filed.refused")}</strong>`;
  else if (item.state === "sent") text = t("filed.sending", { count });
  else text = connection.current() === "online" ? t("filed.sending", { count }) : t("filed.waiting");
  return html`<div class=${`notice filed filed-${item.state}`} data-filed=${item.state}>
    <p>${text}</p>
    ${shown ? html`<p class="muted">${shown.label.family} · <span lang=${CONTENT_LANGUAGE}>${shown.label.programs.join(", ")}</span></p>` : null}
    <${Steps} state=${item.state === "refused" ? "sent" : item.state} />
    <button type="button" class="link" onClick=${() => store.filed(null)}>${t("common.dismiss")}</button>
  </div>`;
}

function TabletItem({ item }) {
  const [shown, setShown] = useState(null);
  const [discarding, setDiscarding] = useState(false);
  const editCopy = () => {
    const programs = shown.body.program_ids.map((id, i) => ({ id, name: shown.label.programs[i] ?? id, phone: null, needs: [] }));
    store.startDraft(draftFrom(shown.body), programs);
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
    ${shown ? html`<p lang=${CONTENT_LANGUAGE}>${shown.label.programs.join(", ")}</p>` : null}
    ${state !== "refused" ? html`<${Steps} state=${state} />` : null}
    <p class="muted">${t("outbox.filed_at", { at: formatDateTime(item.created_at) })}
      ${item.attempts ? ` · ${t("outbox.attempts", { count: item.attempts })}` : ""}</p>
    ${state === "refused"
      ? html`<${Notice} kind="error"><strong>${t("outbox.refused")}</strong> ${problemText(new Problem(item.error.status, item.error))}
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
  </li>`;
}

/** One referral in the officer's list: the whole card opens it. */
function ReferralCard({ referral, now, changed }) {
  const change = referral.last_change;
  return html`<li class=${`card referral-row${changed ? " changed" : ""}`} data-referral-id=${referral.id}>
    <div class="card-head">
      <h4><a class="stretch" href=${href("mine", referral.id)} lang=${referral.program_name ? CONTENT_LANGUAGE : null}>${referral.program_name || t("referral.untitled")}</a></h4>
      <${StatusBadge} status=${referral.status} />
    </div>
    <p class="inbox-card-line">${referral.reference ? html`<span class="reference">${referral.reference}</span>` : null}
      <${Urgency} urgency=${referral.urgency} /> <${Clock} referral=${referral} now=${now} /></p>
    ${changed && change
      ? html`<p class="change"><span class="badge badge-new">${t("mine.changed")}</span> ${t("mine.change", { status: t(`status.${change.to_status}`), at: formatDateTime(change.at) })}</p>`
      : null}
    ${referral.family_feedback
      ? html`<p class="family-said">${t("family.feedback", { answer: t(`family.answer.${referral.family_feedback.answer}`) })}</p>`
      : referral.ask_family
        ? html`<p><span class="badge badge-warn">${t("family.ask")}</span></p>`
        : null}
    <p>
      ${referral.overdue ? html`<span class="badge badge-bad">${t("referral.overdue")}</span> ` : null}
      ${referral.agency_not_reached ? html`<span class="badge badge-bad">${t("referral.not_reached")}</span> ` : null}
      ${referral.consent_withdrawn ? html`<span class="badge badge-muted">${t("referral.withdrawn")}</span>` : null}
    </p>
  </li>`;
}

/** The server's list, one group per family (case), the most recently changed first. */
function byFamily(items, names) {
  const groups = new Map();
  for (const r of items) {
    // the name sealed on this tablet when it was filed here, else the server's short label
    const family = names.get(r.id) ?? r.family_label ?? null;
    const group = groups.get(r.case_id) ?? { caseId: r.case_id, family, items: [] };
    group.family ??= family;
    group.items.push(r);
    groups.set(r.case_id, group);
  }
  return [...groups.values()];
}

export function MyReferralsScreen() {
  const { session, flush, sendState } = useApp();
  const items = useOutbox(session.user.id);
  const tracked = useTracking();
  const now = useNow();
  const [names, setNames] = useState(new Map());
  useEffect(() => {
    outbox.forgetOldConfirmed(session.user.id).then(() => outbox.familyNames(session.user.id)).then(setNames);
  }, [items]);
  const onTablet = items.filter((i) => i.state !== "confirmed");
  const unsent = items.filter((i) => i.state === "waiting" || i.state === "sent");
  const list = tracked.items ?? [];
  const changed = list.filter((r) => tracked.changed.has(r.id));

  return html`<section class="mine">
    <${ScreenTitle}>${t("mine.title")}</${ScreenTitle}>
    <${FiledConfirmation} items=${items} />
    ${onTablet.length || sendState === "locked"
      ? html`<section aria-labelledby="on-tablet">
          <div class="row between">
            <h2 id="on-tablet">${t("mine.on_tablet")}</h2>
            ${unsent.length ? html`<button onClick=${() => flush(true)}>${t("outbox.send_now")}</button>` : null}
          </div>
          ${sendState === "locked" ? html`<${Notice} kind="warn">${t("outbox.unlock_to_send")}</${Notice}>` : null}
          ${sendState === "offline" && unsent.length ? html`<${Notice} kind="warn">${t("outbox.offline")}</${Notice}>` : null}
          <ul class="cards outbox">${onTablet.map((item) => html`<${TabletItem} key=${item.id} item=${item} />`)}</ul>
        </section>`
      : null}
    <section aria-labelledby="on-server">
      <div class="row between">
        <h2 id="on-server">${t("mine.on_server")}</h2>
        ${changed.length ? html`<button type="button" onClick=${() => tracking.markSeen(changed)}>${t("mine.mark_seen", { count: changed.length })}</button>` : null}
      </div>
      ${tracked.error && tracked.fetchedAt
        ? html`<${Notice} kind="warn">${t("mine.as_of", { date: formatDateTime(tracked.fetchedAt) })}</${Notice}>`
        : tracked.error
          ? html`<${Notice} kind="warn">${problemText(tracked.error)}</${Notice}>`
          : null}
      ${tracked.items === null && !tracked.error ? html`<p>${t("common.loading")}</p>` : null}
      ${tracked.items?.length === 0 ? html`<p class="muted">${t("mine.none_yet")}</p>` : null}
      <ul class="families">
        ${byFamily(list, names).map(
          (group) => html`<li class="family" key=${group.caseId}>
            <h3>${group.family ?? t("referral.family_unknown")}</h3>
            <ul class="cards">${group.items.map(
              (r) => html`<${ReferralCard} key=${r.id} referral=${r} now=${now} changed=${tracked.changed.has(r.id)} />`,
            )}</ul>
          </li>`,
        )}
      </ul>
    </section>
  </section>`;
}

