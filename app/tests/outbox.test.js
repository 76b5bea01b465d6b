// The outbox's retry pacing: bounded, jittered, and the server's Retry-After honoured.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RETRY_CAP_MS, backoff } from "../src/outbox.js";

test("backoff grows and never passes the cap", () => {
  for (let attempts = 1; attempts < 30; attempts += 1) {
    const wait = backoff(attempts);
    assert.ok(wait > 0 && wait <= RETRY_CAP_MS);
  }
  assert.ok(backoff(1) <= 5_000);
  assert.ok(backoff(10) >= RETRY_CAP_MS / 2);
});

test("Retry-After is honoured, up to the cap", () => {
  assert.equal(backoff(1, 30), 30_000);
  assert.equal(backoff(1, 86_400), RETRY_CAP_MS);
});
