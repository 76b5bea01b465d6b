// Opening hours in the program's own time zone, and distances.
import assert from "node:assert/strict";
import { test } from "node:test";
import { distanceKm, today } from "../src/hours.js";

const foodBank = {
  schedules: [{ byday: "MO,TU,WE,TH,FR", opens_at: "09:00", closes_at: "17:00" }],
  service_at_locations: [{ location: { x_bridges: { timezone: "America/Los_Angeles" } } }],
};

test("open on a weekday afternoon in the program's time zone", () => {
  const wednesday2pmPacific = new Date("2026-11-25T22:00:00Z");
  assert.deepEqual(today(foodBank, wednesday2pmPacific), { known: true, open: true, spans: ["09:00–17:00"] });
});

test("closed in the evening, and closed all Saturday", () => {
  assert.equal(today(foodBank, new Date("2026-11-26T03:00:00Z")).open, false); // Wed 7 pm
  assert.deepEqual(today(foodBank, new Date("2026-11-28T20:00:00Z")).spans, []); // Sat noon
});

test("no schedule means unknown, not closed", () => {
  assert.equal(today({ schedules: [] }).known, false);
});

test("distances are great-circle kilometres", () => {
  const km = distanceKm({ lat: 45.0, lon: -123.0 }, { lat: 45.1, lon: -123.0 });
  assert.ok(Math.abs(km - 11.12) < 0.05);
});

test("a closure closes the program all day, and only on its days", () => {
  const holidays = {
    ...foodBank,
    schedules: [
      ...foodBank.schedules,
      { valid_from: "2026-12-24", valid_to: "2026-12-26", description: "Holidays", x_bridges: { closed: true } },
    ],
  };
  const christmasEve2pm = new Date("2026-12-24T22:00:00Z");
  const result = today(holidays, christmasEve2pm);
  assert.equal(result.open, false);
  assert.equal(result.closure.description, "Holidays");
  assert.equal(today(holidays, new Date("2026-12-23T22:00:00Z")).open, true);
});

test("a schedule counts only on the dates it is valid", () => {
  const summer = { ...foodBank, schedules: [{ ...foodBank.schedules[0], valid_to: "2026-08-31" }] };
  assert.equal(today(summer, new Date("2026-11-25T22:00:00Z")).open, false);
});
