// The agency inbox: referrals waiting for an answer first (the response clock soonest first),
// then the active and the closed ones; new referrals appear without a reload. Opening one marks
// it received (an explicit command) and shows only what the family consented to share.
import { useEffect, useState } from "preact/hooks";
import { withQuery } from "../api.js";
import { ACTIVE, AWAITING_ANSWER, FINAL, markReceived, moveReferral, openReferral } from "../casework.js";
import * as directory from "../directory.js";
import { formatDateTime, t, tOr } from "../i18n.js";
import { usePolledList } from "../poll.js";
import { href } from "../router.js";
import { Notice, ScreenTitle, StatusBadge, announce, html, problemText, useApp } from "../ui.js";
import { History } from "./history.js";
import { ReferralRow, useNow } from "./mine.js";

// Each tab is one or more polled lists; "waiting" puts the overdue first, then the newest.
const TABS = {
  waiting: [
    { name: "overdue", query: { status: AWAITING_ANSWER, overdue: true, sort: "due" } },
    { name: "new", query: { status: AWAITING_ANSWER, overdue: false, sort: "newest" } },
  ],
  active: [{ name: "active", query: { status: ACTIVE, sort: "updated" } }],
  closed: [{ name: "closed", query: { status: FINAL, sort: "updated" } }],
};
// What staff may do next, by status (the server's lifecycle decides; this only offers buttons).
const MOVES = {
  requested: ["accepted", "rejected", "failed"],
  received: ["accepted", "rejected", "failed"],
  accepted: ["in-progress", "on-hold", "completed", "failed"],
  "in-progress": ["on-hold", "completed", "failed"],
  "on-hold": ["accepted", "in-progress", "failed"],
};
const NEEDS_REASON = new Set(["rejected", "failed"]);
const DECLINE_REASONS = ["not-eligible", "at-capacity", "service-not-offered", "out-of-area", "duplicate", "other"];
const FAIL_REASONS = ["client-unreachable", "client-declined", "client-no-show", "at-capacity", "other"];

let remembered = "waiting";

function InboxList({ part, tab, heading }) {
  const { config, session, signInAgain } = useApp();
  const now = useNow();
  const list = usePolledList(
    (cursor, limit) => withQuery(config.referrals_url, "/inbox", { ...part.query, limit, cursor }),
    session.token,
    [tab, part.name, session.token],
  );
  if (heading && list.items?.length === 0) return null; // no empty "Overdue" section
  return html`<section aria-labelledby=${heading ? `inbox-${part.name}` : null}>
    ${heading ? html`<h2 id=${`inbox-${part.name}`}>${t(`inbox.part_${part.name}`)}</h2>` : null}
    ${list.error?.status === 401
      ? html`<${Notice} kind="warn">${t("signin.ended")}
          <button onClick=${signInAgain}>${t("signin.again_button")}</button></${Notice}>`
      : list.error
        ? html`<${Notice} kind="warn">${t("inbox.unreachable")} ${problemText(list.error)}</${Notice}>`
        : null}
    ${list.items === null && !list.error ? html`<p>${t("common.loading")}</p>` : null}
    ${list.items?.length === 0 ? html`<p class="muted">${t("inbox.empty")}</p>` : null}
    <ul class="cards inbox">
      ${(list.items ?? []).map((r) => html`<${ReferralRow} key=${r.id} referral=${r} to=${href("inbox", r.id)} now=${now} />`)}
    </ul>
    ${list.next ? html`<button onClick=${list.more} disabled=${list.loadingMore}>${t("common.load_more")}</button>` : null}
  </section>`;
}

export function InboxScreen() {
  const { session } = useApp();
  const [tab, setTab] = useState(remembered);
  const choose = (name) => setTab((remembered = name));
  const parts = TABS[tab];
  return html`<section>
    <${ScreenTitle}>${t("inbox.title", { agency: session.user.agency_name ?? "" })}</${ScreenTitle}>
    <div class="tabs" role="group" aria-label=${t("inbox.views")}>
      ${Object.keys(TABS).map(
        (name) => html`<button aria-pressed=${tab === name ? "true" : "false"} onClick=${() => choose(name)}>
          ${t(`inbox.${name}`)}</button>`,
      )}
    </div>
    ${parts.map((part) => html`<${InboxList} key=${`${tab}-${part.name}`} part=${part} tab=${tab} heading=${parts.length > 1} />`)}
  </section>`;
}

function Shared({ referral }) {
  const { config } = useApp();
  const [terms, setTerms] = useState({});
  useEffect(() => {
    directory.taxonomy(config).then((all) => setTerms(Object.fromEntries(all.map((term) => [term.code, term.name]))));
  }, []);
  const needName = (code) => tOr(`need.${code}`, terms[code] ?? code);
  const client = referral.client;
  const contact = client?.contact ?? {};
  const scopes = referral.consent?.scopes ?? [];
  return html`<section aria-labelledby="shared-title" class="shared">
    <h2 id="shared-title">${t("inbox.shared")}</h2>
    <p class="hint">${t("inbox.shared_scopes", { scopes: scopes.map((s) => t(`scope.${s}`)).join(", ") || "—" })}</p>
    ${referral.consent_withdrawn ? html`<${Notice} kind="warn">${t("inbox.withdrawn")}</${Notice}>` : null}
    ${client
      ? html`<dl class="facts wide">
          <div><dt>${t("form.family")}</dt><dd>${client.given_name} ${client.family_name ?? ""}${client.age != null ? ` (${client.age})` : ""}</dd></div>
          <div><dt>${t("form.channel")}</dt><dd>${t(`channel.${contact.preferred_channel}`)}</dd></div>
          ${contact.phone ? html`<div><dt>${t("form.phone")}</dt><dd><a class="tel" href=${`tel:${contact.phone.replace(/[^0-9+]/g, "")}`}>${contact.phone}</a></dd></div>` : null}
          ${contact.email ? html`<div><dt>${t("form.email")}</dt><dd>${contact.email}</dd></div>` : null}
          <div><dt>${t("form.safe_message")}</dt><dd><strong>${contact.safe_to_leave_message ? t("common.yes") : t("common.no")}</strong></dd></div>
          ${contact.preferred_language ? html`<div><dt>${t("form.contact_language")}</dt><dd>${tOr(`lang.${contact.preferred_language}`, contact.preferred_language)}${contact.interpreter_needed ? ` · ${t("form.interpreter")}` : ""}</dd></div>` : null}
          ${contact.best_time ? html`<div><dt>${t("form.best_time")}</dt><dd>${contact.best_time}</dd></div>` : null}
          ${client.household?.length ? html`<div><dt>${t("form.household")}</dt><dd>${client.household.map((m) => `${m.given_name} (${m.relationship}${m.age != null ? `, ${m.age}` : ""})`).join("; ")}</dd></div>` : null}
        </dl>`
      : html`<p class="muted">${t("inbox.no_contact")}</p>`}
    ${referral.needs?.length ? html`<p><strong>${t("form.needs")}:</strong> ${referral.needs.map(needName).join(", ")}</p>` : null}
    ${referral.situation ? html`<p><strong>${t("form.situation")}:</strong> ${referral.situation}</p>` : null}
    ${referral.officer_contact
      ? html`<p><strong>${t("inbox.officer")}:</strong> ${[referral.officer_contact.name, referral.officer_contact.phone, referral.officer_contact.email].filter(Boolean).join(" · ")}</p>`
      : null}
  </section>`;
}

export function InboxReferralScreen({ id }) {
  const { config, session } = useApp();
  const [referral, setReferral] = useState(null);
  const [error, setError] = useState(null);
  const [move, setMove] = useState(null);
  const [reason, setReason] = useState("");
  const [note, setNote] = useState("");
  const [message, setMessage] = useState(null);
  const [saving, setSaving] = useState(false);

  const load = async () => {
    try {
      let opened = await openReferral(config, session.token, id);
      if (opened.status === "requested") {
        await markReceived(config, session.token, id);
        opened = await openReferral(config, session.token, id);
      }
      setReferral(opened);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
  }, [id]);

  const submit = async (event) => {
    event.preventDefault();
    if (saving) return;
    setSaving(true);
    try {
      await moveReferral(config, session.token, referral, move, { reason, note });
      const text = t("inbox.moved", { status: t(`status.${move}`) });
      setMessage({ kind: "info", text });
      announce(text);
      setMove(null);
      setReason("");
      setNote("");
      await load();
    } catch (e) {
      setMessage({ kind: "error", text: e.status === 412 ? t("inbox.changed_meanwhile") : problemText(e) });
      if (e.status === 412) await load();
    } finally {
      setSaving(false);
    }
  };

  if (error) return html`<${Notice} kind="error">${problemText(error)}</${Notice}>`;
  if (!referral) return html`<p>${t("common.loading")}</p>`;
  const moves = MOVES[referral.status] ?? [];
  const reasons = move === "rejected" ? DECLINE_REASONS : FAIL_REASONS;
  const left = Date.parse(referral.respond_by) - Date.now();
  return html`<article>
    <p><a href=${href("inbox")}>← ${t("inbox.back")}</a></p>
    <${ScreenTitle}>${referral.program_name}</${ScreenTitle}>
    <p class="row">
      <${StatusBadge} status=${referral.status} />
      <span>${t(`urgency.${referral.urgency}`)}</span>
      <span>${t("referral.filed", { at: formatDateTime(referral.created_at) })}</span>
      ${AWAITING_ANSWER.includes(referral.status)
        ? html`<span class=${`clock${left < 0 ? " overdue" : ""}`}>${t("inbox.respond_by", { at: formatDateTime(referral.respond_by) })}</span>`
        : null}
    </p>
    ${message ? html`<${Notice} kind=${message.kind}>${message.text}</${Notice}>` : null}
    <${Shared} referral=${referral} />
    ${moves.length
      ? html`<form class="moves" onSubmit=${submit}>
          <fieldset>
            <legend>${t("inbox.respond")}</legend>
            <div class="options">
              ${moves.map(
                (to) => html`<label class="option"><input type="radio" name="move" value=${to} checked=${move === to}
                  onChange=${() => { setMove(to); setReason(""); }} /><span>${t(`action.${to}`)}</span></label>`,
              )}
            </div>
          </fieldset>
          ${move && NEEDS_REASON.has(move)
            ? html`<label for="move-reason">${t("referral.reason")}</label>
              <select id="move-reason" value=${reason} onChange=${(e) => setReason(e.currentTarget.value)} required>
                <option value="">${t("referral.pick_reason")}</option>
                ${reasons.map((r) => html`<option value=${r}>${t(`reason.${r}`)}</option>`)}
              </select>`
            : null}
          <label for="move-note">${t("referral.note")}</label>
          <textarea id="move-note" rows="2" maxlength="2000" value=${note} onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
          <button class="primary" type="submit" disabled=${saving || !move || (NEEDS_REASON.has(move) && !reason)}>${t("inbox.save")}</button>
        </form>`
      : null}
    <h2>${t("referral.history")}</h2>
    <${History} entries=${referral.history} />
  </article>`;
}
