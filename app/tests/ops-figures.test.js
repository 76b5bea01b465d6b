// The flow's figures: read from the services' summaries as the table says, thresholds marked.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { figuresOf, prometheusLink } from "../src/views/ops-figures.js";

const TABLE = JSON.parse(readFileSync(new URL("../src/views/ops-figures.json", import.meta.url)));
const sample = (metric, value, labels = {}) => ({ metric, labels, value });
const SUMMARIES = {
  directory: { samples: [sample("bridges_outbox_backlog", 0), sample("bridges_outbox_oldest_age_seconds", 0)] },
  referrals: {
    samples: [
      sample("bridges_referrals_filed_recent", 3, { window: "1h" }),
      sample("bridges_referrals_filed_recent", 40, { window: "24h" }),
      sample("bridges_outbox_backlog", 2),
      sample("bridges_outbox_oldest_age_seconds", 95),
      sample("bridges_dead_letters", 0, { consumer: "referrals-programs" }),
    ],
  },
  notifications: null, // did not answer
};
const byKey = Object.fromEntries(figuresOf(TABLE, SUMMARIES).map((f) => [f.key, f]));

test("a figure with a label takes only its samples", () => {
  assert.equal(byKey.filed_hour.value, 3);
  assert.equal(byKey.filed_day.value, 40);
});

test("counts add up across services, ages take the oldest, each service shown apart", () => {
  assert.equal(byKey.outbox_backlog.value, 2);
  assert.equal(byKey.outbox_oldest.value, 95);
  assert.deepEqual(byKey.outbox_oldest.parts, [
    { name: "directory", value: 0 },
    { name: "referrals", value: 95 },
  ]);
});

test("a value above its alert's threshold is marked, one at or below is not", () => {
  assert.equal(byKey.outbox_oldest.over, true); // BridgesOutboxStuck: > 60
  assert.equal(byKey.outbox_backlog.over, false);
  assert.equal(byKey.parked.over, false); // 0 is not above 0
});

test("a service that did not answer is named, and its figures have no value", () => {
  assert.equal(byKey.deliveries_dead.value, null);
  assert.deepEqual(byKey.deliveries_dead.missing, ["notifications"]);
  assert.deepEqual(byKey.outbox_backlog.missing, ["notifications"]);
});

test("Prometheus is linked only where the deployment names it", () => {
  assert.equal(prometheusLink("", "up"), null);
  assert.equal(prometheusLink("http://p:9090/", 'a{b="c"}'), "http://p:9090/graph?g0.expr=a%7Bb%3D%22c%22%7D&g0.tab=0");
});
