// The sealed vault on the tablet's own storage (fake-indexeddb, node's WebCrypto): ten wrong PINs
// in a row erase what it protects (a lost tablet's last defence), nine do not, and the right PIN
// opens it and starts the count again. The vaults counting PINs are made with few rounds (fast);
// one made by vault.js itself shows a new vault records the count it was made with (vaults from
// before the count was recorded: db.test.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import { officerSession, quickVault } from "./support/tablet.mjs";
import { database } from "../src/db.js";
import * as outbox from "../src/outbox.js";
import * as personal from "../src/personal.js";
import * as vault from "../src/vault.js";

const PIN = "739251";
const WRONG = "739252";
const REFERRAL = { client: { given_name: "Maria", family_name: "Lopez" }, needs: ["food"], urgency: "high" };
const LABEL = { family: "Maria Lopez", programs: ["Riverton Community Food Bank"] };

/** A new officer whose tablet holds one of everything sealed: a referral waiting to send, the
 *  draft being written, the session. Locked afterwards, as a found tablet would be. */
async function officerWithSealedWork() {
  const owner = officerSession().user.id;
  await quickVault(owner, PIN);
  await vault.unlock(owner, PIN);
  await outbox.file(owner, REFERRAL, LABEL);
  await personal.keep(owner, "draft", { draft: { givenName: "Maria" }, cart: [] });
  await (await database()).put("sessions", { owner, sealed: await vault.seal({ token: "t", expiresAt: Date.now() + 3_600_000 }) });
  vault.lock();
  return owner;
}

/** Every row the tablet keeps for `owner`, store by store. */
async function rowsOf(owner) {
  const db = await database();
  return {
    vaults: (await db.get("vaults", owner)) ? 1 : 0,
    sessions: (await db.get("sessions", owner)) ? 1 : 0,
    outbox: (await db.getAllKeysFromIndex("outbox", "owner", owner)).length,
    personal: (await db.getAllKeysFromIndex("personal", "owner", owner)).length,
  };
}
const EVERYTHING = { vaults: 1, sessions: 1, outbox: 1, personal: 1 };
const NOTHING = { vaults: 0, sessions: 0, outbox: 0, personal: 0 };

async function wrongPin(owner) {
  try {
    await vault.unlock(owner, WRONG);
  } catch (error) {
    assert.ok(error instanceof vault.WrongPin, error);
    return error.cause;
  }
  assert.fail("a wrong PIN opened the vault");
}

test("nine wrong PINs erase nothing; the right PIN then opens the vault and the count starts again", async () => {
  const owner = await officerWithSealedWork();
  for (let tried = 1; tried <= 9; tried += 1) {
    assert.deepEqual(await wrongPin(owner), { erased: false, left: vault.MAX_FAILURES - tried });
    assert.equal(vault.unlockedFor(owner), false);
  }
  assert.deepEqual(await rowsOf(owner), EVERYTHING);

  await vault.unlock(owner, PIN);
  assert.equal(vault.unlockedFor(owner), true);
  assert.deepEqual((await personal.read(owner, "draft")).value, { draft: { givenName: "Maria" }, cart: [] });
  const [waiting] = await outbox.items(owner);
  assert.deepEqual(await outbox.reveal(waiting), { body: REFERRAL, label: LABEL });
  // a fresh count: one wrong PIN now leaves nine more
  assert.deepEqual(await wrongPin(owner), { erased: false, left: vault.MAX_FAILURES - 1 });
});

test("ten wrong PINs in a row erase the officer's sealed data, and only theirs", async () => {
  const other = await officerWithSealedWork();
  const owner = await officerWithSealedWork();
  for (let tried = 1; tried < vault.MAX_FAILURES; tried += 1) {
    assert.deepEqual(await wrongPin(owner), { erased: false, left: vault.MAX_FAILURES - tried });
  }
  assert.deepEqual(await rowsOf(owner), EVERYTHING);
  assert.deepEqual(await wrongPin(owner), { erased: true, left: 0 });
  assert.deepEqual(await rowsOf(owner), NOTHING);
  assert.equal(await vault.hasVault(owner), false);
  // nothing is left to open, not even with the right PIN
  await assert.rejects(vault.unlock(owner, PIN), vault.Locked);
  assert.deepEqual(await rowsOf(other), EVERYTHING);
});

test("ten wrong PINs tried at once (ten tabs) erase as surely as ten in a row", async () => {
  const owner = await officerWithSealedWork();
  const tried = await Promise.all(Array.from({ length: vault.MAX_FAILURES }, () => wrongPin(owner)));
  // each attempt counted: one was the tenth
  assert.deepEqual(tried.map((cause) => cause.left).sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(tried.filter((cause) => cause.erased), [{ erased: true, left: 0 }]);
  assert.deepEqual(await rowsOf(owner), NOTHING);
});

test("a new vault records its rounds, so a later change of the figure leaves it openable", async () => {
  const owner = officerSession().user.id;
  await vault.createVault(owner, PIN);
  const made = await (await database()).get("vaults", owner);
  assert.equal(made.iterations, 600_000);
  assert.equal(made.failures, 0);
  const sealed = await vault.seal(LABEL);
  vault.lock();
  await vault.unlock(owner, PIN);
  assert.deepEqual(await vault.open(sealed), LABEL);
});
