// The referrals API as the screens use it: one referral, marking it received, moving it (with
// the version read, so a colleague's change meanwhile is a 412, not overwritten), withdrawing
// a family's consent. The statuses come from the server's lifecycle (FHIR Task codes).
import { call } from "./api.js";

export const AWAITING_ANSWER = ["requested", "received"];
export const ACTIVE = ["accepted", "in-progress", "on-hold"];
export const FINAL = ["completed", "rejected", "cancelled", "failed"];

const referralUrl = (config, id) => `${config.referrals_url}/referrals/${encodeURIComponent(id)}`;

export async function openReferral(config, token, id) {
  return (await call(referralUrl(config, id), { token })).data;
}

/** Staff opened it: said explicitly (reading never changes a referral). */
export async function markReceived(config, token, id) {
  await call(`${referralUrl(config, id)}/received`, { method: "POST", token });
}

export async function moveReferral(config, token, referral, to, { reason = "", note = "" } = {}) {
  await call(`${referralUrl(config, referral.id)}/transitions`, {
    method: "POST",
    token,
    headers: { "If-Match": `"${referral.version}"` },
    body: { to, ...(reason ? { reason } : {}), ...(note.trim() ? { note: note.trim() } : {}) },
  });
}

/** Returns the ids of the referrals the withdrawal cancelled. */
export async function withdrawConsent(config, token, caseId, note = "") {
  const { data } = await call(`${config.referrals_url}/cases/${encodeURIComponent(caseId)}/consent/withdrawal`, {
    method: "POST",
    token,
    body: note.trim() ? { note: note.trim() } : {},
  });
  return data.cancelled;
}
