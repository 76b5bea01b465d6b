// A referral's urgency and its response clock, as every list and page shows them: an urgency
// and a clock under 2 h stand out by colour and by a mark and words too (never colour alone);
// a long wait stays quiet.
import { AWAITING_ANSWER } from "../casework.js";
import { formatDateTime, formatDuration, t } from "../i18n.js";
import { html } from "../ui.js";

const SOON_MS = 2 * 60 * 60 * 1000;
const URGENCY_MARK = { emergency: "▲", high: "◆", routine: "" };

export function Urgency({ urgency }) {
  const mark = URGENCY_MARK[urgency];
  return html`<span class=${`urgency urgency-${urgency}`}>
    ${mark ? html`<span aria-hidden="true">${mark}</span> ` : null}${t(`urgency.${urgency}`)}
  </span>`;
}

/** Time left to answer: overdue and under 2 h stand out (fill, a mark and words); a long
 *  wait stays quiet. Nothing once the referral was answered. */
export function Clock({ referral, now }) {
  if (!AWAITING_ANSWER.includes(referral.status)) return null;
  const left = Date.parse(referral.respond_by) - now;
  const due = formatDateTime(referral.respond_by);
  if (left < 0) {
    return html`<span class="clock overdue inbox-clock clock-overdue" title=${due}>
      <span aria-hidden="true">⚠</span>${" "}${t("clock.overdue", { time: formatDuration(left) })}</span>`;
  }
  if (left < SOON_MS) {
    return html`<span class="clock inbox-clock clock-soon" title=${due}>
      <span aria-hidden="true">◔</span>${" "}<span class="visually-hidden">${t("clock.soon")} </span>${t("clock.left", { time: formatDuration(left) })}</span>`;
  }
  return html`<span class="clock inbox-clock" title=${due}>${t("clock.left", { time: formatDuration(left) })}</span>`;
}
