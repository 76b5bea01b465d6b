// A referral as the form holds it, which fields apply to it, its checks (the server's own
// rules, told before sending) and the body the referrals API takes. Pure: no DOM, no storage.
// `applies` is the skip logic: a field the family's situation makes meaningless is neither
// shown nor required nor sent. The server applies the same rules (services/referrals models.py,
// Contact), and tests/test_form_rules_agree.py feeds both the same drafts.
export const CHANNELS = ["phone", "sms", "email", "officer", "in-person"];
export const URGENCIES = ["routine", "high", "emergency"];
export const METHODS = ["verbal", "written", "signature"];
export const RELATIONSHIPS = ["mother", "father", "partner", "child", "sibling", "grandparent", "guardian"];
export const COMMON_LANGUAGES = ["en", "es"];
export const OTHER_LANGUAGES = ["vi", "zh", "ru", "ar", "fr", "so", "uk", "tl", "ko", "fa"];
const PHONE = /^[0-9+() .-]{3,30}$/;
// the server's rules (pydantic EmailStr): no empty labels, no trailing dot
const EMAIL = /^[^@\s]+@(?!.*\.\.)[^@\s.][^@\s]*\.[^@\s.]+$/;
export const MAX_PROGRAMS = 10;
export const LIMITS = { name: 100, relationship: 40, bestTime: 100, situation: 4000 };
const wholeAge = (value) => value === "" || (/^\d{1,3}$/.test(String(value)) && Number(value) <= 130);
const THROUGH_OFFICER = ["officer", "in-person"];

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
    safetyConcerns: false,
    followUp: null, // the family's choice of channel; null: the default (followUpDefault)
    safeFrom: "",
    safeTo: "",
    followUpReconfirmed: false,
    consent: {
      givenBy: "", // "client", "guardian"
      guardianMember: null, // the household member (key) who consented as guardian, if one
      guardianName: "",
      method: "verbal",
      givenAt: localInputValue(now),
      language: null, // the consent text's language; null: the family's language
      scopes: ["contact", "needs"],
      confirmed: false,
    },
  };
}

export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Which fields apply to this draft (shown, checked, sent): the form's skip logic. */
export function applies(draft) {
  const throughOfficer = THROUGH_OFFICER.includes(draft.channel);
  return {
    phone: !throughOfficer,
    email: !throughOfficer,
    safeToLeaveMessage: !throughOfficer,
    bestTime: draft.channel === "phone" || draft.channel === "sms",
    officerPhone: throughOfficer,
    guardianName: draft.consent.givenBy === "guardian" && draft.consent.guardianMember === null,
  };
}

// -- the family's follow-up ("did you get help?"): the server's rules (follow_up.py) --------
export const FOLLOW_UP_CHANNELS = ["email", "text", "officer", "none"];
const MESSAGES = ["email", "text"];
const familyViolence = (needs) => needs.some((code) => code === "family-violence" || code.startsWith("family-violence."));

/** Contacting this family needs care: the officer marked safety concerns, or a need is family
 *  violence. Then no follow-up is sent unless the family asks for one. */
export const safetySensitive = (draft) => draft.safetyConcerns || familyViolence(draft.needs);

/** A message would need the family to confirm again the channel and the hours it named. */
export const followUpSensitive = (draft) =>
  safetySensitive(draft) || (applies(draft).safeToLeaveMessage && draft.safeToLeaveMessage === false);

/** The channels this family can be asked by (a message needs the address it goes to). */
export function followUpChannels(draft) {
  const shown = applies(draft);
  return FOLLOW_UP_CHANNELS.filter(
    (c) => (c !== "email" || (shown.email && draft.email.trim())) && (c !== "text" || (shown.phone && draft.phone.trim())),
  );
}

/** What the server does when the family chose nothing. */
export function followUpDefault(draft) {
  const shown = applies(draft);
  if (safetySensitive(draft) || !shown.safeToLeaveMessage) return "none";
  if (draft.safeToLeaveMessage === false) return "officer";
  if (draft.channel === "email" && draft.email.trim()) return "email";
  return draft.phone.trim() ? "text" : "officer";
}

export const followUpChannel = (draft) => draft.followUp ?? followUpDefault(draft);

/** The safe hours and the re-confirmation apply: a message the family chose for a referral
 *  that needs care. */
export const reconfirmationApplies = (draft) => draft.followUp !== null && MESSAGES.includes(draft.followUp) && followUpSensitive(draft);

/** The name of a household member as the consent records it (the family name when theirs is
 *  not given). */
export function memberName(member, draft) {
  return [member.givenName.trim(), (member.familyName ?? "").trim() || draft.familyName.trim()].filter(Boolean).join(" ");
}

/** The guardian's name as it will be recorded. */
export function guardianName(draft) {
  const { consent } = draft;
  if (consent.givenBy !== "guardian") return "";
  if (consent.guardianMember === null) return consent.guardianName.trim();
  const member = draft.household.find((m) => m.key === consent.guardianMember);
  return member ? memberName(member, draft) : "";
}

/** Problems per field, as message keys ({} when the family part is complete). */
/** "form.required" when blank, "form.too_long" over `max` characters, else null. */
function text(value, max, required = true) {
  const trimmed = value.trim();
  if (!trimmed) return required ? "form.required" : null;
  return trimmed.length > max ? "form.too_long" : null;
}

export function familyProblems(draft) {
  const problems = {};
  const shown = applies(draft);
  const note = (key, problem) => {
    if (problem) problems[key] = problem;
  };
  note("givenName", text(draft.givenName, LIMITS.name));
  note("familyName", text(draft.familyName, LIMITS.name));
  if (!wholeAge(draft.age)) problems.age = "form.age_whole";
  draft.household.forEach((member, index) => {
    note(`member-${index}-name`, text(member.givenName, LIMITS.name));
    note(`member-${index}-family-name`, text(member.familyName ?? "", LIMITS.name, false));
    const relationship = text(member.relationship, LIMITS.relationship);
    note(`member-${index}-relationship`, relationship === "form.required" ? "form.choose_one" : relationship);
    if (!wholeAge(member.age)) problems[`member-${index}-age`] = "form.age_whole";
  });
  if (shown.bestTime) note("bestTime", text(draft.bestTime, LIMITS.bestTime, false));
  note("situation", text(draft.situation, LIMITS.situation, false));
  if (shown.phone) {
    const phone = draft.phone.trim();
    if ((draft.channel === "phone" || draft.channel === "sms") && !PHONE.test(phone)) problems.phone = "form.phone_invalid";
    if (phone && !PHONE.test(phone)) problems.phone = "form.phone_invalid";
  }
  if (shown.email) {
    const email = draft.email.trim();
    if (draft.channel === "email" && !EMAIL.test(email)) problems.email = "form.email_invalid";
    if (email && !EMAIL.test(email)) problems.email = "form.email_invalid";
  }
  if (shown.safeToLeaveMessage && draft.safeToLeaveMessage === null) problems.safeToLeaveMessage = "form.choose_one";
  if (shown.officerPhone && draft.officerPhone.trim() && !PHONE.test(draft.officerPhone.trim())) problems.officerPhone = "form.phone_invalid";
  if (!draft.needs.length) problems.needs = "form.need_one";
  if (!draft.urgency) problems.urgency = "form.choose_one";
  if (draft.followUp === "email" && !(shown.email && draft.email.trim())) problems.followUp = "family.need_email";
  if (draft.followUp === "text" && !(shown.phone && draft.phone.trim())) problems.followUp = "family.need_phone";
  if (reconfirmationApplies(draft)) {
    if (!draft.followUpReconfirmed) problems.followUpReconfirmed = "family.must_reconfirm";
    if (!CLOCK.test(draft.safeFrom) || !CLOCK.test(draft.safeTo)) problems.safeHours = "family.need_hours";
  }
  return problems;
}

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;

export function programProblems(programs) {
  return programs.length > MAX_PROGRAMS ? { programs: "form.too_many_programs" } : {};
}

export function consentProblems(draft, now = new Date()) {
  const consent = draft.consent;
  const problems = {};
  if (!consent.givenBy) problems.givenBy = "form.choose_one";
  if (consent.givenBy === "guardian") {
    const name = guardianName(draft);
    if (!name) problems.guardianName = "form.required";
    else if (name.length > LIMITS.name) problems.guardianName = "form.too_long";
  }
  if (!consent.method) problems.method = "form.choose_one";
  const at = Date.parse(consent.givenAt);
  if (Number.isNaN(at)) problems.givenAt = "form.required";
  else if (at > now.getTime() + 5 * 60_000) problems.givenAt = "form.not_future";
  if (!consent.scopes.includes("contact")) problems.scopes = "form.contact_scope";
  if (!consent.confirmed) problems.confirmed = "consent.must_confirm";
  return problems;
}

/** A refused referral's body (or the family of an earlier referral), back into a draft. */
export function draftFrom(sent, now = new Date()) {
  const client = sent.client ?? {};
  const contact = client.contact ?? {};
  const consent = sent.consent ?? {};
  const household = (client.household ?? []).map((m) => ({
    key: crypto.randomUUID(),
    givenName: m.given_name ?? "",
    familyName: m.family_name ?? "",
    relationship: m.relationship ?? "",
    age: m.age ?? "",
  }));
  const empty = emptyDraft(now);
  const guardian = consent.given_by === "guardian" ? (consent.given_by_name ?? "") : "";
  const asMember = household.find((m) => guardian && memberName(m, { familyName: client.family_name ?? "" }) === guardian);
  return {
    ...empty,
    givenName: client.given_name ?? "",
    familyName: client.family_name ?? "",
    age: client.age ?? "",
    household,
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
    safetyConcerns: Boolean(sent.safety_concerns),
    followUp: sent.follow_up?.channel ?? null,
    safeFrom: sent.follow_up?.safe_hours?.from ?? "",
    safeTo: sent.follow_up?.safe_hours?.to ?? "",
    followUpReconfirmed: false, // asked again, as the consent is
    consent: {
      ...empty.consent,
      givenBy: consent.given_by ?? "",
      guardianMember: asMember ? asMember.key : null,
      guardianName: asMember ? "" : guardian,
      method: consent.method ?? "verbal",
      givenAt: consent.given_at ? localInputValue(new Date(consent.given_at)) : localInputValue(now),
      scopes: consent.scopes ?? ["contact"],
      confirmed: false, // the officer confirms again what the family agreed to
    },
  };
}

/** A number the officer typed, as the API takes it (what is not a whole number goes as typed,
 *  for the server to refuse: the form never sends what it would have refused itself). */
const ageValue = (value) => (/^\d{1,3}$/.test(String(value)) ? Number(value) : value);

export function body(draft, programs, textVersion) {
  const shown = applies(draft);
  const phone = shown.phone ? draft.phone.trim() || undefined : undefined;
  const email = shown.email ? draft.email.trim() || undefined : undefined;
  const consent = draft.consent;
  return {
    client: {
      given_name: draft.givenName.trim(),
      family_name: draft.familyName.trim(),
      ...(draft.age !== "" ? { age: ageValue(draft.age) } : {}),
      contact: {
        ...(phone ? { phone } : {}),
        ...(email ? { email } : {}),
        preferred_channel: draft.channel,
        preferred_language: draft.contactLanguage,
        interpreter_needed: draft.interpreter,
        ...(shown.bestTime && draft.bestTime.trim() ? { best_time: draft.bestTime.trim() } : {}),
        ...(shown.safeToLeaveMessage && draft.safeToLeaveMessage !== null
          ? { safe_to_leave_message: draft.safeToLeaveMessage }
          : {}),
      },
      household: draft.household.map((m) => ({
        given_name: m.givenName.trim(),
        ...((m.familyName ?? "").trim() ? { family_name: m.familyName.trim() } : {}),
        relationship: m.relationship.trim(),
        ...(m.age !== "" ? { age: ageValue(m.age) } : {}),
      })),
    },
    needs: draft.needs,
    urgency: draft.urgency,
    ...(draft.situation.trim() ? { situation: draft.situation.trim() } : {}),
    ...(draft.safetyConcerns ? { safety_concerns: true } : {}),
    ...(draft.followUp !== null ? { follow_up: followUpBody(draft) } : {}),
    program_ids: programs.map((p) => p.id),
    consent: {
      given_by: consent.givenBy,
      ...(consent.givenBy === "guardian" ? { given_by_name: guardianName(draft) } : {}),
      method: consent.method,
      given_at: Number.isNaN(Date.parse(consent.givenAt)) ? consent.givenAt : new Date(consent.givenAt).toISOString(),
      scopes: consent.scopes,
      text_version: textVersion,
    },
    ...(shown.officerPhone && draft.officerPhone.trim() ? { officer_contact: { phone: draft.officerPhone.trim() } } : {}),
  };
}

/** The family's own choice of follow-up, as the API takes it (the tablet's time zone is the
 *  family's: the officer is with them). */
function followUpBody(draft) {
  // the hours are asked (and sent) where care is needed; otherwise the deployment's apply
  const hours = reconfirmationApplies(draft);
  return {
    channel: draft.followUp,
    ...(hours ? { safe_hours: { from: draft.safeFrom, to: draft.safeTo } } : {}),
    ...(MESSAGES.includes(draft.followUp) ? { time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone, reconfirmed: draft.followUpReconfirmed } : {}),
  };
}
