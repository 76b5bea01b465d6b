// The form's own checks and the body it sends: the server's rules, told before sending.
import assert from "node:assert/strict";
import { test } from "node:test";
import { body, consentProblems, draftFrom, emptyDraft, familyProblems, programProblems } from "../src/referral.js";

const complete = () => ({
  ...emptyDraft(new Date("2026-11-28T10:00:00")),
  givenName: " Maria ",
  familyName: "Lopez",
  phone: "503-555-0101",
  safeToLeaveMessage: false,
  needs: ["food"],
  urgency: "high",
  consent: { givenBy: "client", guardianName: "", method: "verbal", givenAt: "2026-11-28T09:55", scopes: ["contact", "needs"], confirmed: true },
});

test("a complete draft has no problems", () => {
  const draft = complete();
  assert.deepEqual(familyProblems(draft), {});
  assert.deepEqual(consentProblems(draft.consent, new Date("2026-11-28T10:00:00")), {});
});

test("consent is incomplete until the officer confirms the family agreed", () => {
  const draft = complete();
  draft.consent.confirmed = false;
  assert.equal(consentProblems(draft.consent).confirmed, "consent.must_confirm");
});

test("a guardian's consent needs the guardian's name", () => {
  const consent = { ...complete().consent, givenBy: "guardian" };
  assert.equal(consentProblems(consent).guardianName, "form.required");
});

test("consent given in the future is refused", () => {
  const consent = { ...complete().consent, givenAt: "2026-11-28T12:00" };
  assert.equal(consentProblems(consent, new Date("2026-11-28T10:00:00")).givenAt, "form.not_future");
});

test("sharing contact details cannot be left out", () => {
  const consent = { ...complete().consent, scopes: ["needs"] };
  assert.equal(consentProblems(consent).scopes, "form.contact_scope");
});

test("a phone call needs a phone number; a family reached through the officer does not", () => {
  const draft = { ...complete(), phone: "" };
  assert.equal(familyProblems(draft).phone, "form.phone_invalid");
  assert.equal(familyProblems({ ...draft, channel: "officer" }).phone, undefined);
});

test("whether a message may be left must be answered", () => {
  assert.equal(familyProblems({ ...complete(), safeToLeaveMessage: null }).safeToLeaveMessage, "form.choose_one");
});

test("the body carries consent with its text version, trimmed names and every program", () => {
  const sent = body(complete(), [{ id: "p1" }, { id: "p2" }], "bridges-consent-2026-11/es");
  assert.equal(sent.client.given_name, "Maria");
  assert.equal(sent.client.contact.safe_to_leave_message, false);
  assert.deepEqual(sent.program_ids, ["p1", "p2"]);
  assert.equal(sent.consent.text_version, "bridges-consent-2026-11/es");
  assert.equal(sent.consent.given_by, "client");
  assert.ok(!("given_by_name" in sent.consent));
  assert.ok(sent.consent.given_at.endsWith("Z"));
});

test("ages are whole years, for the family and every member", () => {
  assert.equal(familyProblems({ ...complete(), age: "2.5" }).age, "form.age_whole");
  const household = [{ givenName: "Leo", relationship: "son", age: "150" }];
  assert.equal(familyProblems({ ...complete(), household })["member-0-age"], "form.age_whole");
});

test("an email the server would refuse is refused here first", () => {
  for (const email of ["maria@gmail..com", "x@y.com.", "a@b"]) {
    assert.equal(familyProblems({ ...complete(), email }).email, "form.email_invalid", email);
  }
  assert.equal(familyProblems({ ...complete(), email: "maria.lopez@example.org" }).email, undefined);
});

test("more than ten programs is refused before sending", () => {
  const programs = Array.from({ length: 11 }, (_, i) => ({ id: `p${i}` }));
  assert.equal(programProblems(programs).programs, "form.too_many_programs");
  assert.deepEqual(programProblems(programs.slice(0, 10)), {});
});

test("a refused body comes back as a draft whose consent must be confirmed again", () => {
  const sent = body(complete(), [{ id: "p1" }], "v/en");
  const draft = draftFrom(sent);
  assert.equal(draft.givenName, "Maria");
  assert.equal(draft.safeToLeaveMessage, false);
  assert.deepEqual(draft.needs, ["food"]);
  assert.equal(draft.consent.method, "verbal");
  assert.equal(draft.consent.confirmed, false);
  assert.deepEqual(body({ ...draft, consent: { ...draft.consent, confirmed: true } }, [{ id: "p1" }], "v/en").client, sent.client);
});
