// A referral's status changes, oldest first, with who, when, why.
import { formatDateTime, t } from "../i18n.js";
import { StatusBadge, html } from "../ui.js";

export function History({ entries }) {
  if (!entries?.length) return null;
  return html`<ol class="history">
    ${entries.map(
      (e) => html`<li>
        <${StatusBadge} status=${e.to_status} />
        <span>${formatDateTime(e.at)}</span>
        <span class="muted">${t(`role.${e.actor_role}`)}</span>
        ${e.reason_code ? html`<span>${t(`reason.${e.reason_code}`)}</span>` : null}
        ${e.note ? html`<p class="note">${e.note}</p>` : null}
      </li>`,
    )}
  </ol>`;
}
