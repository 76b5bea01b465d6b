// What officers and agency staff read of a listing's state: whether the program takes referrals
// and until when (the agency's note with it), and when its agency last checked it — flagged
// "may be out of date" when not within STALE_DAYS. In words and marks, never colour alone.
import { CONTENT_LANGUAGE } from "../directory.js";
import { closuresOf } from "../hours.js";
import { formatDate, t } from "../i18n.js";
import { freshness, intakeOf } from "../listing.js";
import { html } from "../ui.js";

/** The intake as one line: "Not accepting referrals until 5 Jan 2027", and how it looks. */
export function intakeLabel(service) {
  const { state, until } = intakeOf(service);
  const capacity = service.x_bridges?.capacity_status;
  const key = state === "accepting" && capacity === "limited" ? "limited" : state;
  const label = until ? t(`intake.${key}_until`, { date: formatDate(until) }) : t(`intake.${key}_label`);
  return { label, ok: state !== "closed", kind: state === "accepting" ? "ok" : state === "waitlist" ? "warn" : "bad" };
}

export function IntakeBadge({ service }) {
  const { label, kind } = intakeLabel(service);
  return html`<span class=${`badge badge-${kind}`}>${kind === "bad" ? "✕ " : kind === "warn" ? "◔ " : "✓ "}${label}</span>`;
}

/** The agency's own words about its intake, if any (directory content: its language). */
export function IntakeNote({ service }) {
  const note = service.x_bridges?.capacity_note;
  return note ? html`<p class="intake-note"><span class="visually-hidden">${t("intake.note_said")} </span><span lang=${CONTENT_LANGUAGE}>${note}</span></p>` : null;
}

/** "Checked by the agency on 1 Oct 2026", or flagged when stale (`ours`: said to the agency). */
export function Checked({ service, ours = false }) {
  const { checked, stale } = freshness(service);
  const who = ours ? "ours" : "agency";
  if (!stale) return html`<p class="checked">${t(`listing.checked_${who}`, { date: formatDate(checked) })}</p>`;
  const text = checked ? t(`listing.stale_${who}`, { date: formatDate(checked) }) : t(`listing.never_${who}`);
  return html`<p class="checked stale"><span aria-hidden="true">⚠ </span>${text}</p>`;
}

/** Closures still to come (or under way): their days in the screen's language, their reason
 *  as the agency wrote it. */
export function closureLines(service, today = new Date().toISOString().slice(0, 10)) {
  return closuresOf(service, { from: today }).map((c) => ({
    days: c.valid_from === c.valid_to ? formatDate(c.valid_from) : `${formatDate(c.valid_from)} – ${formatDate(c.valid_to)}`,
    reason: c.description ?? "",
  }));
}

export function Closures({ service }) {
  const lines = closureLines(service);
  if (!lines.length) return null;
  return html`<ul class="plain">${lines.map(
    ({ days, reason }) => html`<li>${days}${reason ? html`: <span lang=${CONTENT_LANGUAGE}>${reason}</span>` : null}</li>`,
  )}</ul>`;
}
