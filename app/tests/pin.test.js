// A new PIN must not be easy to guess: the rules the PIN screen applies before sealing anything.
import assert from "node:assert/strict";
import { test } from "node:test";
import { weakPin } from "../src/vault.js";

test("six to twelve digits", () => {
  assert.equal(weakPin("12345"), "pin.rule");
  assert.equal(weakPin("1234567890123"), "pin.rule");
  assert.equal(weakPin("12a456"), "pin.rule");
});

test("repeated, sequential, patterned and common PINs are refused", () => {
  for (const pin of ["000000", "999999999", "123456", "654321", "0123456789", "121212", "123123", "112233", "159753"]) {
    assert.equal(weakPin(pin), "pin.too_simple", pin);
  }
});

test("the officer's badge number is refused inside a PIN", () => {
  assert.equal(weakPin("912349", "badge-1234"), "pin.badge");
  assert.equal(weakPin("246810", "badge-1234"), null);
});

test("an ordinary PIN is accepted", () => {
  for (const pin of ["246810", "739251", "80417362"]) assert.equal(weakPin(pin, "badge-5678"), null, pin);
});
