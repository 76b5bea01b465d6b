// A referral as the form holds it, its checks (the server's own rules, told before sending),
// and the body the referrals API takes. Pure: no DOM, no storage.
export const CHANNELS = ["phone", "sms", "email", "officer", "in-person"];
export const URGENCIES = ["routine", "high", "emergency"];
export const METHODS = ["verbal", "written", "signature"];
const PHONE = /^[0-9+() .-]{3,30}$/;
// the server's rules (pydantic EmailStr): no empty labels, no trailing dot
const EMAIL = /^[^@\s]+@(?!.*\.\.)[^@\s.][^@\s]*\.[^@\s.]+$/;
export const MAX_PROGRAMS = 10;
export const LIMITS = { name: 100, relationship: 40, bestTime: 100, situation: 4000 };
const wholeAge = (value) => value === "" || (/^\d{1,3}$/.test(String(value)) && Number(value) <= 130);

export function emptyDraft(now = new Date()) {
  return {
    givenName: "",
    familyName: "",
    age: "",
    household: [],
    channel: "phone",
    phone: "",
    email: "",
    safeToLeaveMessage: null,
    contactLanguage: "en",
    interpreter: false,
    bestTime: "",
    officerPhone: "",
    needs: [],
    urgency: "",
    situation: "",
    consent: {
      givenBy: "",
      guardianName: "",
      method: "",
      givenAt: localInputValue(now),
      scopes: ["contact", "needs"],
      confirmed: false,
    },
  };
}

export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Problems per field, as message keys ({} when the family part is complete). */
export function familyProblems(draft) {
  const problems = {};
  if (!draft.givenName.trim()) problems.givenName = "form.required";
  if (!draft.familyName.trim()) problems.familyName = "form.required";
  if (!wholeAge(draft.age)) problems.age = "form.age_whole";
  draft.household.forEach((member, index) => {
    if (!member.givenName.trim()) problems[`member-${index}-name`] = "form.required";
    if (!member.relationship.trim()) problems[`member-${index}-relationship`] = "form.required";
    if (!wholeAge(member.age)) problems[`member-${index}-age`] = "form.age_whole";
  });
  if ((draft.channel === "phone" || draft.channel === "sms") && !PHONE.test(draft.phone.trim())) problems.phone = "form.phone_invalid";
  if (draft.phone.trim() && !PHONE.test(draft.phone.trim())) problems.phone = "form.phone_invalid";
  if (draft.channel === "email" && !EMAIL.test(draft.email.trim())) problems.email = "form.email_invalid";
  if (draft.email.trim() && !EMAIL.test(draft.email.trim())) problems.email = "form.email_invalid";
  if (draft.safeToLeaveMessage === null) problems.safeToLeaveMessage = "form.choose_one";
  if (draft.officerPhone.trim() && !PHONE.test(draft.officerPhone.trim())) problems.officerPhone = "form.phone_invalid";
  if (!draft.needs.length) problems.needs = "form.need_one";
  if (!draft.urgency) problems.urgency = "form.choose_one";
  return problems;
}

export function programProblems(programs) {
  return programs.length > MAX_PROGRAMS ? { programs: "form.too_many_programs" } : {};
}

/** A refused referral's body, back into a draft the officer can correct and file again. */
export function draftFrom(sent, now = new Date()) {
  const client = sent.client ?? {};
  const contact = client.contact ?? {};
  const consent = sent.consent ?? {};
  return {
    ...emptyDraft(now),
    givenName: client.given_name ?? "",
    familyName: client.family_name ?? "",
    age: client.age ?? "",
    household: (client.household ?? []).map((m) => ({ givenName: m.given_name ?? "", relationship: m.relationship ?? "", age: m.age ?? "" })),
    channel: contact.preferred_channel ?? "phone",
    phone: contact.phone ?? "",
    email: contact.email ?? "",
    safeToLeaveMessage: contact.safe_to_leave_message ?? null,
    contactLanguage: contact.preferred_language ?? "en",
    interpreter: Boolean(contact.interpreter_needed),
    bestTime: contact.best_time ?? "",
    officerPhone: sent.officer_contact?.phone ?? "",
    needs: sent.needs ?? [],
    urgency: sent.urgency ?? "",
    situation: sent.situation ?? "",
    consent: {
      givenBy: consent.given_by ?? "",
      guardianName: consent.given_by_name ?? "",
      method: consent.method ?? "",
      givenAt: consent.given_at ? localInputValue(new Date(consent.given_at)) : localInputValue(now),
      scopes: consent.scopes ?? ["contact"],
      confirmed: false, // the officer confirms again what the family agreed to
    },
  };
}

export function consentProblems(consent, now = new Date()) {
  const problems = {};
  if (!consent.givenBy) problems.givenBy = "form.choose_one";
  if (consent.givenBy === "guardian" && !consent.guardianName.trim()) problems.guardianName = "form.required";
  if (!consent.method) problems.method = "form.choose_one";
  const at = Date.parse(consent.givenAt);
  if (Number.isNaN(at)) problems.givenAt = "form.required";
  else if (at > now.getTime() + 5 * 60_000) problems.givenAt = "form.not_future";
  if (!consent.scopes.includes("contact")) problems.scopes = "form.contact_scope";
  if (!consent.confirmed) problems.confirmed = "consent.must_confirm";
  return problems;
}

export function body(draft, programs, textVersion) {
  const phone = draft.phone.trim() || undefined;
  const email = draft.email.trim() || undefined;
  const consent = draft.consent;
  return {
    client: {
      given_name: draft.givenName.trim(),
      family_name: draft.familyName.trim(),
      ...(draft.age !== "" ? { age: Number(draft.age) } : {}),
      contact: {
        ...(phone ? { phone } : {}),
        ...(email ? { email } : {}),
        preferred_channel: draft.channel,
        preferred_language: draft.contactLanguage,
        interpreter_needed: draft.interpreter,
        ...(draft.bestTime.trim() ? { best_time: draft.bestTime.trim() } : {}),
        safe_to_leave_message: draft.safeToLeaveMessage === true,
      },
      household: draft.household.map((m) => ({
        given_name: m.givenName.trim(),
        relationship: m.relationship.trim(),
        ...(m.age !== "" ? { age: Number(m.age) } : {}),
      })),
    },
    needs: draft.needs,
    urgency: draft.urgency,
    ...(draft.situation.trim() ? { situation: draft.situation.trim() } : {}),
    program_ids: programs.map((p) => p.id),
    consent: {
      given_by: consent.givenBy,
      ...(consent.givenBy === "guardian" ? { given_by_name: consent.guardianName.trim() } : {}),
      method: consent.method,
      given_at: new Date(consent.givenAt).toISOString(),
      scopes: consent.scopes,
      text_version: textVersion,
    },
    ...(draft.officerPhone.trim() ? { officer_contact: { phone: draft.officerPhone.trim() } } : {}),
  };
}
