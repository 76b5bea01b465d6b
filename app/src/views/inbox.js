// The agency inbox: triage at a glance. "Waiting for an answer" first, the least time left on
// top (the overdue above all); "Active" and "Closed" after. A search by reference or name, filters
// and a choice of order; new referrals appear without a reload and are marked, counted in the
// tab's title and announced once. Opening one marks it received (an explicit command) and shows
// only what the family consented to share, with its reference large enough to read out.
import { useEffect, useState } from "preact/hooks";
import { call, withQuery } from "../api.js";
import { ACTIVE, AWAITING_ANSWER, FINAL, markReceived, moveReferral, openReferral } from "../casework.js";
import { formatDateTime, languageName, t } from "../i18n.js";
import { usePolledList } from "../poll.js";
import { href } from "../router.js";
import { Notice, ScreenTitle, StatusBadge, announce, html, problemText, useApp, useNow } from "../ui.js";
import { History } from "./history.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { Clock, Urgency } from "./clock.js";
import { DESK, InboxRows, useMedia, useNeedName } from "./inbox-list.js";
import { VIEWS, inbox, orderOf, useInboxState } from "./inbox-state.js";

const STATUSES = { waiting: AWAITING_ANSWER, active: ACTIVE, closed: FINAL };
const ALL_STATUSES = [...AWAITING_ANSWER, ...ACTIVE, ...FINAL];
// The orders offered: awaiting an answer, time left matters most; once answered, what changed.
const ORDERS = { waiting: ["due", "urgency", "newest"], answered: ["updated", "due", "urgency", "newest"] };
const URGENCIES = ["emergency", "high", "routine"];
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

/** The query of the list shown: the view's statuses (any status while searching), the filters,
 *  the search and the order. */
function listQuery(state) {
  const { filters, query } = state;
  const statuses = filters.status ? [filters.status] : query ? [] : STATUSES[state.view];
  return { status: statuses, urgency: filters.urgency, program_id: filters.program_id, q: query, sort: orderOf(state) };
}

/** Referrals not yet opened, newest first, whatever list is shown: what arrives is marked,
 *  counted in the title and announced once (one polite announcement per poll that brings any). */
function useArrivals() {
  const { config, session } = useApp();
  const watched = usePolledList(
    (cursor, limit) => withQuery(config.referrals_url, "/inbox", { status: "requested", sort: "newest", limit, cursor }),
    session.token,
    [session.token],
  );
  useEffect(() => {
    if (!watched.items) return;
    const arrivals = inbox.saw(watched.items);
    if (arrivals.length === 1) {
      const [one] = arrivals;
      announce(t("inbox.arrived_one", { reference: one.reference, urgency: t(`urgency.${one.urgency}`) }));
    } else if (arrivals.length > 1) {
      announce(t("inbox.arrived_many", { count: arrivals.length }));
    }
  }, [watched.items]);
}

function useAgencyPrograms() {
  const { config, session } = useApp();
  const [programs, setPrograms] = useState([]);
  useEffect(() => {
    call(`${config.referrals_url}/inbox/programs`, { token: session.token }).then(
      ({ data }) => setPrograms(data),
      () => setPrograms([]), // the filter offers "All" only; the list says why it cannot load
    );
  }, [session.token]);
  return programs;
}

function Choice({ id, label, value, onChange, options }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
    </select>
  </div>`;
}

function SearchForm({ query }) {
  const [typed, setTyped] = useState(query);
  // cleared elsewhere ("Clear search"): the box empties too. A search this form made already
  // shows what was typed, and what is being typed now is never overwritten by it.
  useEffect(() => {
    if (!query) setTyped("");
  }, [query]);
  const submit = (event) => {
    event.preventDefault();
    inbox.search(typed);
  };
  return html`<form class="inbox-search" role="search" onSubmit=${submit}>
    <label for="inbox-q">${t("inbox.search_label")}</label>
    <div class="row">
      <input id="inbox-q" type="search" autocomplete="off" spellcheck="false" maxlength="100"
        placeholder=${t("inbox.search_placeholder")} value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} />
      <button class="primary" type="submit">${t("inbox.search")}</button>
      ${query ? html`<button type="button" onClick=${inbox.clearSearch}>${t("inbox.clear_search")}</button>` : null}
    </div>
  </form>`;
}

/** Filters and order: in one row at a desk; folded into one line on a tablet or phone, which
 *  says what is chosen (tap to change), so the first referrals show without scrolling. */
function Filters({ state, programs }) {
  const desk = useMedia(DESK);
  const any = [["", t("inbox.any")]];
  const statuses = state.query ? ALL_STATUSES : STATUSES[state.view];
  const orders = state.query || state.view !== "waiting" ? ORDERS.answered : ORDERS.waiting;
  const chosen = [
    state.filters.status && t(`status.${state.filters.status}`),
    state.filters.urgency && t(`urgency.${state.filters.urgency}`),
    state.filters.program_id && programs.find((p) => p.id === state.filters.program_id)?.name,
    t(`inbox.sort_${orderOf(state)}`),
  ].filter(Boolean);
  const controls = html`<div class="inbox-filters">
    <${Choice} id="inbox-status" label=${t("inbox.filter_status")} value=${state.filters.status}
      onChange=${(v) => inbox.filter("status", v)} options=${[...any, ...statuses.map((s) => [s, t(`status.${s}`)])]} />
    <${Choice} id="inbox-urgency" label=${t("inbox.filter_urgency")} value=${state.filters.urgency}
      onChange=${(v) => inbox.filter("urgency", v)} options=${[...any, ...URGENCIES.map((u) => [u, t(`urgency.${u}`)])]} />
    <${Choice} id="inbox-program" label=${t("inbox.filter_program")} value=${state.filters.program_id}
      onChange=${(v) => inbox.filter("program_id", v)} options=${[...any, ...programs.map((p) => [p.id, p.name])]} />
    <${Choice} id="inbox-sort" label=${t("inbox.sort")} value=${orderOf(state)}
      onChange=${inbox.sortBy} options=${orders.map((o) => [o, t(`inbox.sort_${o}`)])} />
  </div>`;
  if (desk) return controls;
  return html`<details class="inbox-more">
    <summary>${t("inbox.filters")}: ${chosen.join(" · ")}</summary>
    ${controls}
  </details>`;
}

/** The columns a view leaves out (the table fits a desk screen without them): the status
 *  while awaiting an answer (requested or received, the filter tells them apart), the clock
 *  once answered (none runs). */
function withoutColumns(state) {
  if (state.query) return [];
  return state.view === "waiting" ? ["status"] : ["clock"];
}

function InboxList({ state }) {
  const { config, session, signInAgain } = useApp();
  const now = useNow();
  const query = listQuery(state);
  const list = usePolledList(
    (cursor, limit) => withQuery(config.referrals_url, "/inbox", { ...query, limit, cursor }),
    session.token,
    [JSON.stringify(query), session.token],
  );
  const filtered = Boolean(state.query || state.filters.status || state.filters.urgency || state.filters.program_id);
  return html`<section class="inbox-list" aria-labelledby="inbox-list-title">
    <h2 id="inbox-list-title" class=${state.query ? null : "visually-hidden"}>
      ${state.query ? t("inbox.results_for", { query: state.query }) : t(`inbox.${state.view}`)}</h2>
    ${list.error?.status === 401
      ? html`<${Notice} kind="warn">${t("signin.ended")}
          <button onClick=${signInAgain}>${t("signin.again_button")}</button></${Notice}>`
      : list.error
        ? html`<${Notice} kind="warn">${t("inbox.unreachable")} ${problemText(list.error)}</${Notice}>`
        : null}
    ${list.items === null && !list.error ? html`<p>${t("common.loading")}</p>` : null}
    ${list.items?.length === 0 ? html`<p class="muted">${filtered ? t("inbox.no_match") : t("inbox.empty")}</p>` : null}
    ${list.items?.length
      ? html`<${InboxRows} items=${list.items} now=${now} arrived=${state.arrived} without=${withoutColumns(state)}
          caption=${t("inbox.caption", { order: t(`inbox.sort_${query.sort}`) })} />`
      : null}
    ${list.next ? html`<button onClick=${list.more} disabled=${list.loadingMore}>${t("common.load_more")}</button>` : null}
  </section>`;
}

export function InboxScreen() {
  const { session } = useApp();
  const state = useInboxState(session.user.id);
  const programs = useAgencyPrograms();
  useArrivals();
  return html`<section class="inbox-screen">
    <${ScreenTitle}>${t("inbox.title", { agency: session.user.agency_name ?? "" })}</${ScreenTitle}>
    <div class="inbox-tools">
      <${SearchForm} query=${state.query} />
      ${state.query
        ? null
        : html`<div class="tabs" role="group" aria-label=${t("inbox.views")}>
            ${VIEWS.map(
              (name) => html`<button aria-pressed=${state.view === name ? "true" : "false"} onClick=${() => inbox.chooseView(name)}>
                ${t(`inbox.${name}`)}${state.arrived.size && name === "waiting" ? html` <span class="count warn">${state.arrived.size}</span>` : null}</button>`,
            )}
          </div>`}
      <${Filters} state=${state} programs=${programs} />
    </div>
    <${InboxList} state=${state} />
  </section>`;
}

function Shared({ referral }) {
  const needName = useNeedName();
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
          ${contact.safe_to_leave_message == null
            ? null // reached only through the officer or in person: no message is ever left
            : html`<div><dt>${t("form.safe_message")}</dt><dd><strong>${contact.safe_to_leave_message ? t("common.yes") : t("common.no")}</strong></dd></div>`}
          ${contact.preferred_language ? html`<div><dt>${t("form.contact_language")}</dt><dd>${languageName(contact.preferred_language)}${contact.interpreter_needed ? ` · ${t("form.interpreter")}` : ""}</dd></div>` : null}
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
  useInboxState(session.user.id); // the tab's title keeps counting the other arrivals
  const now = useNow();
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
      inbox.opened(id);
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
  return html`<article class="inbox-referral">
    <p><a href=${href("inbox")}>← ${t("inbox.back")}</a></p>
    <${ScreenTitle}>${t("inbox.referral")} <span class="reference inbox-title-ref">${referral.reference}</span></${ScreenTitle}>
    <p class="inbox-who">
      ${referral.family_label ?? html`<span class="muted">${t("inbox.name_not_shared")}</span>`}
      <span class="muted"> · </span><span lang=${CONTENT_LANGUAGE}>${referral.program_name}</span>
    </p>
    <p class="row">
      <${StatusBadge} status=${referral.status} />
      <${Urgency} urgency=${referral.urgency} />
      <${Clock} referral=${referral} now=${now} />
      ${AWAITING_ANSWER.includes(referral.status)
        ? html`<span>${t("inbox.respond_by", { at: formatDateTime(referral.respond_by) })}</span>`
        : null}
      <span class="muted">${t("referral.filed", { at: formatDateTime(referral.created_at) })}</span>
    </p>
    ${message ? html`<${Notice} kind=${message.kind}>${message.text}</${Notice}>` : null}
    <${Shared} referral=${referral} />
    ${referral.family_feedback
      ? html`<${Notice}><strong>${t("family.feedback", { answer: t(`family.answer.${referral.family_feedback.answer}`) })}</strong>
          · ${formatDateTime(referral.family_feedback.at)}</${Notice}>`
      : null}
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
