// An agency's listing as the screens handle it: freshness, the intake in three words, hours
// and closures as a form and back, and where a refusal belongs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { capacityBody, freshness, hoursForm, intakeOf, placeError, schedulesOf } from "../src/listing.js";

test("a listing not checked for more than 180 days is stale, as is one never checked", () => {
  assert.deepEqual(freshness({ x_bridges: { last_verified: "2026-10-01" } }, "2026-12-07"), { checked: "2026-10-01", stale: false });
  assert.equal(freshness({ x_bridges: { last_verified: "2026-06-09" } }, "2026-12-07").stale, true);
  assert.equal(freshness({ x_bridges: { last_verified: "2026-06-10" } }, "2026-12-07").stale, false);
  assert.deepEqual(freshness({}, "2026-12-07"), { checked: null, stale: true });
});

test("the intake in three words, and back as the capacity body", () => {
  assert.equal(intakeOf({ x_bridges: { accepting_referrals: true, capacity_status: "limited" } }).state, "accepting");
  assert.equal(intakeOf({ x_bridges: { accepting_referrals: true, capacity_status: "waitlist" } }).state, "waitlist");
  const closed = { x_bridges: { accepting_referrals: false, capacity_status: "full", capacity_until: "2027-01-05", capacity_note: "Renovation" } };
  assert.deepEqual(intakeOf(closed), { state: "closed", until: "2027-01-05", note: "Renovation" });
  assert.deepEqual(capacityBody({ state: "closed", until: "2027-01-05", note: " Renovation " }), {
    accepting_referrals: false, capacity_status: "full", capacity_until: "2027-01-05", capacity_note: "Renovation",
  });
  assert.deepEqual(capacityBody({ state: "accepting", until: "2027-01-05", note: "x" }), {
    accepting_referrals: true, capacity_status: "available", capacity_until: null, capacity_note: null,
  });
});

const program = {
  schedules: [
    { id: "a", freq: "WEEKLY", byday: "MO,TU,WE,TH,FR", opens_at: "10:00", closes_at: "18:00", timezone: -8 },
    { id: "b", valid_from: "2026-12-24", valid_to: "2026-12-26", description: "Holidays", x_bridges: { closed: true } },
    { id: "c", freq: "MONTHLY", byday: "1SA", opens_at: "09:00", closes_at: "12:00" },
  ],
};

test("hours, closures and the rest of the schedules round-trip through the form", () => {
  const form = hoursForm(program);
  assert.deepEqual(form.hours, [{ id: "a", days: ["MO", "TU", "WE", "TH", "FR"], opens: "10:00", closes: "18:00", timezone: -8 }]);
  assert.deepEqual(form.closures, [{ id: "b", from: "2026-12-24", to: "2026-12-26", reason: "Holidays" }]);
  assert.deepEqual(schedulesOf(form), program.schedules);
});

test("a refusal lands at its field: hours and closures by their row", () => {
  const form = hoursForm(program);
  assert.deepEqual(placeError({ location: ["body", "schedules", 1], message: "valid_from is after valid_to" }, form), {
    key: "closures.0", message: "valid_from is after valid_to",
  });
  assert.equal(placeError({ location: ["body", "phones", 0, "number"] }, form).key, "phones.0");
  assert.equal(placeError({ location: ["body", "x_bridges", "capacity_until"] }, form).key, "capacity_until");
  assert.equal(placeError({ location: ["body"], message: "Value error, minimum_age is above maximum_age" }, form).key, "minimum_age");
  assert.equal(placeError({ location: ["body", "status"] }, form).key, "status");
});
