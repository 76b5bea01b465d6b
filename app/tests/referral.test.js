// The form's own checks, which fields apply (skip logic) and the body it sends: the server's
// rules, told before sending (tests/test_form_rules_agree.py checks they are the same rules).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  applies,
  body,
  consentProblems,
  draftFrom,
  emptyDraft,
  familyProblems,
  guardianName,
  programProblems,
} from "../src/referral.js";

const NOW = new Date("2026-11-28T10:00:00");

const complete = () => {
  const draft = emptyDraft(NOW);
  return {
    ...draft,
    givenName: " Maria ",
    familyName: "Lopez",
    phone: "503-555-0101",
    safeToLeaveMessage: false,
    needs: ["food"],
    urgency: "high",
    consent: { ...draft.consent, givenBy: "client", givenAt: "2026-11-28T09:55", confirmed: true },
  };
};

test("a complete draft has no problems", () => {
  const draft = complete();
  assert.deepEqual(familyProblems(draft), {});
  assert.deepEqual(consentProblems(draft, NOW), {});
});

test("consent is incomplete until the officer confirms the family agreed", () => {
  const draft = complete();
  draft.consent.confirmed = false;
  assert.equal(consentProblems(draft, NOW).confirmed, "consent.must_confirm");
});

test("a guardian's consent needs the guardian's name, typed or a household member", () => {
  const draft = complete();
  draft.consent = { ...draft.consent, givenBy: "guardian" };
  assert.equal(consentProblems(draft, NOW).guardianName, "form.required");
  draft.household = [{ key: "m1", givenName: "Ana", familyName: "", relationship: "mother", age: "" }];
  draft.consent = { ...draft.consent, guardianMember: "m1" };
  assert.equal(consentProblems(draft, NOW).guardianName, undefined);
  assert.equal(guardianName(draft), "Ana Lopez"); // the family's name when hers is not given
  assert.equal(body(draft, [{ id: "p1" }], "v/en").consent.given_by_name, "Ana Lopez");
});

test("consent given in the future is refused", () => {
  const draft = complete();
  draft.consent = { ...draft.consent, givenAt: "2026-11-28T12:00" };
  assert.equal(consentProblems(draft, NOW).givenAt, "form.not_future");
});

test("sharing contact details cannot be left out", () => {
  const draft = complete();
  draft.consent = { ...draft.consent, scopes: ["needs"] };
  assert.equal(consentProblems(draft, NOW).scopes, "form.contact_scope");
});

test("a phone call needs a phone number; a family reached through the officer does not", () => {
  const draft = { ...complete(), phone: "" };
  assert.equal(familyProblems(draft).phone, "form.phone_invalid");
  assert.equal(familyProblems({ ...draft, channel: "officer" }).phone, undefined);
});

test("through the officer: no phone, email, best time or message question, and none sent", () => {
  const draft = { ...complete(), channel: "officer", safeToLeaveMessage: null, phone: "503-555-0101", email: "x@example.org", bestTime: "mornings" };
  const shown = applies(draft);
  assert.deepEqual([shown.phone, shown.email, shown.safeToLeaveMessage, shown.bestTime, shown.officerPhone], [false, false, false, false, true]);
  assert.deepEqual(familyProblems(draft), {});
  const contact = body(draft, [{ id: "p1" }], "v/en").client.contact;
  assert.deepEqual(Object.keys(contact).sort(), ["interpreter_needed", "preferred_channel", "preferred_language"]);
});

test("whether a message may be left must be answered when the family is phoned", () => {
  assert.equal(familyProblems({ ...complete(), safeToLeaveMessage: null }).safeToLeaveMessage, "form.choose_one");
  assert.equal(familyProblems({ ...complete(), channel: "in-person", safeToLeaveMessage: null }).safeToLeaveMessage, undefined);
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
  const household = [{ key: "m", givenName: "Leo", relationship: "child", age: "150" }];
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

test("a guardian who is a household member comes back as that member", () => {
  const draft = complete();
  draft.household = [{ key: "m1", givenName: "Ana", familyName: "", relationship: "mother", age: "" }];
  draft.consent = { ...draft.consent, givenBy: "guardian", guardianMember: "m1" };
  const again = draftFrom(body(draft, [{ id: "p1" }], "v/en"));
  assert.equal(again.consent.givenBy, "guardian");
  assert.equal(again.consent.guardianMember, again.household[0].key);
  assert.equal(guardianName(again), "Ana Lopez");
});
