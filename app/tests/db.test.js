// Every IndexedDB upgrade step, on fake-indexeddb: a tablet's database as each earlier version of
// the app left it (its schema and its rows, written here by hand from that version's code in
// `git log -p app/src/db.js` and the modules that wrote the rows) is opened by today's code,
// which must end with today's schema and keep every row readable by today's modules.
import assert from "node:assert/strict";
import { test } from "node:test";
import { deleteDB, openDB } from "idb";
import { CONFIG, answer, handMadeVault, network } from "./support/tablet.mjs";
import { DB_NAME, DB_VERSION, UPGRADES, checkWritable, database } from "../src/db.js";
import * as directory from "../src/directory.js";
import * as outbox from "../src/outbox.js";
import * as personal from "../src/personal.js";
import * as session from "../src/session.js";
import * as vault from "../src/vault.js";

// Today's schema, written out: store → key path and indexes (name → key path).
const SCHEMA = {
  vaults: { keyPath: "owner", indexes: {} },
  sessions: { keyPath: "owner", indexes: {} },
  outbox: { keyPath: "id", indexes: { owner: "owner" } },
  programs: { keyPath: "id", indexes: { fetched_at: "fetched_at" } },
  taxonomy: { keyPath: "id", indexes: {} },
  personal: { keyPath: ["owner", "kind"], indexes: { owner: "owner" } },
  public: { keyPath: "name", indexes: {} },
};

// Each version's schema as its code made it (each line: the stores that version added).
const MADE_BY_VERSION = {
  1: (db) => {
    db.createObjectStore("vaults", { keyPath: "owner" });
    db.createObjectStore("sessions", { keyPath: "owner" });
    db.createObjectStore("outbox", { keyPath: "id" }).createIndex("owner", "owner");
  },
  2: (db) => {
    db.createObjectStore("programs", { keyPath: "id" }).createIndex("fetched_at", "fetched_at");
    db.createObjectStore("taxonomy", { keyPath: "id" });
  },
  3: (db) => db.createObjectStore("personal", { keyPath: ["owner", "kind"] }).createIndex("owner", "owner"),
};

const PIN = "739251";
const OWNER = "7a1c0de5-0000-4000-8000-00000000000a";
const OFFICER = { id: OWNER, role: "officer", name: "Dana Reyes" };
const REFERRAL = { client: { given_name: "Maria", family_name: "Lopez" }, needs: ["food"], urgency: "high" };
const LABEL = { family: "Maria Lopez", programs: ["Riverton Community Food Bank"] };
const SERVICE = { id: "svc-1", name: "Riverton Community Food Bank", attributes: [] };
const TERMS = [
  { id: "term-food", code: "food", name: "Food", parent_id: null },
  { id: "term-pantry", code: "food.pantry", name: "Food pantry", parent_id: "term-food" },
];
const HOUR = 3_600_000;

/** The rows a version's code wrote, for that version's stores (`seal`: the officer's key). */
async function rowsWrittenBy(version, seal) {
  const at = new Date(Date.now() - HOUR).toISOString();
  const waiting = (id) => ({
    id,
    owner: OWNER,
    idempotency_key: `tablet-${id}`,
    created_at: at,
    state: "waiting",
    attempts: 0,
    next_attempt_at: 0,
    error: null,
    result: null,
  });
  // v1 and v2 (the first release): no failure count on the vault, a session of one token, and
  // a confirmed referral kept nothing sealed
  const rows = {
    vaults: [{ owner: OWNER, created_at: at }],
    sessions: [{ owner: OWNER, sealed: await seal({ token: "old-token", expiresAt: Date.now() + HOUR }) }],
    outbox: [
      { ...waiting("item-waiting"), sealed: await seal({ body: REFERRAL, label: LABEL }) },
      { ...waiting("item-confirmed"), state: "confirmed", attempts: 1, last_attempt_at: at, sealed: null, result: { case_id: "case-0", referral_ids: ["ref-0"] } },
    ],
  };
  if (version >= 2) {
    rows.programs = [{ id: SERVICE.id, service: SERVICE, fetched_at: at }];
    rows.taxonomy = TERMS.map((term) => ({ ...term }));
  }
  if (version >= 3) {
    // v3: the failure count, refresh tokens, the family's name sealed beside a confirmed
    // referral with its references, terms in the directory's order, the officer's own work
    rows.vaults = [{ owner: OWNER, created_at: at, failures: 2 }];
    rows.sessions = [{ owner: OWNER, sealed: await seal({ token: "old-token", refreshToken: "refresh", idToken: null, expiresAt: Date.now() + HOUR }) }];
    rows.outbox[1] = {
      ...rows.outbox[1],
      sealed: await seal({ label: LABEL }),
      confirmed_at: at,
      result: { case_id: "case-0", referral_ids: ["ref-0"], references: ["BR-7K2QD"] },
    };
    rows.taxonomy = TERMS.map((term, position) => ({ ...term, position }));
    rows.personal = [{ owner: OWNER, kind: "draft", sealed: await seal({ draft: { givenName: "Maria" }, cart: [] }), saved_at: at }];
  }
  return rows;
}

let madeVault = null; // one derivation (600,000 rounds, as every vault of those versions) for all

/** A tablet left at `version` by that version's code: its schema and its rows. */
async function leftByVersion(version) {
  madeVault ??= await handMadeVault(PIN);
  const rows = await rowsWrittenBy(version, madeVault.seal);
  rows.vaults = rows.vaults.map((row) => ({ ...row, ...madeVault.fields }));
  await deleteDB(DB_NAME); // today's connection gives way (db.js's `blocking`)
  const old = await openDB(DB_NAME, version, {
    upgrade(db, from) {
      for (let made = from + 1; made <= version; made += 1) MADE_BY_VERSION[made](db);
    },
  });
  for (const [store, stored] of Object.entries(rows)) for (const row of stored) await old.put(store, row);
  old.close();
  return rows;
}

async function schemaOf(db) {
  const schema = {};
  for (const name of db.objectStoreNames) {
    const store = db.transaction(name).store;
    const indexes = {};
    for (const index of store.indexNames) indexes[index] = store.index(index).keyPath;
    schema[name] = { keyPath: store.keyPath, indexes };
  }
  return schema;
}

test("every version before today's has a fixture here, and a step in db.js", () => {
  const earlier = Array.from({ length: DB_VERSION - 1 }, (_, i) => i + 1);
  assert.deepEqual(Object.keys(MADE_BY_VERSION).map(Number), earlier, "add the last version's schema and rows to this test");
  assert.equal(UPGRADES.length, DB_VERSION);
});

test("a new tablet gets today's schema, and it can be written", async () => {
  await deleteDB(DB_NAME);
  const db = await database();
  assert.equal(db.version, DB_VERSION);
  assert.deepEqual(await schemaOf(db), SCHEMA);
  await checkWritable();
});

for (const version of Object.keys(MADE_BY_VERSION).map(Number)) {
  test(`a tablet left at version ${version} upgrades to today's schema and keeps every row`, async () => {
    const rows = await leftByVersion(version);
    const db = await database();
    assert.equal(db.version, DB_VERSION);
    assert.deepEqual(await schemaOf(db), SCHEMA);
    for (const [store, stored] of Object.entries(rows)) {
      const { keyPath } = SCHEMA[store];
      const keyOf = (row) => (Array.isArray(keyPath) ? keyPath.map((part) => row[part]) : row[keyPath]);
      assert.equal(await db.count(store), stored.length, store);
      for (const row of stored) assert.deepEqual(await db.get(store, keyOf(row)), row, store);
    }

    // today's modules read what the older code wrote: the vault opens with the PIN ...
    vault.lock();
    await vault.unlock(OWNER, PIN);
    assert.equal((await db.get("vaults", OWNER)).failures, 0); // v3 left two wrong PINs counted
    assert.equal((await session.restore(OFFICER)).token, "old-token");
    if (version >= 3) assert.deepEqual((await personal.read(OWNER, "draft")).value, { draft: { givenName: "Maria" }, cart: [] });
    assert.deepEqual([...(await outbox.familyNames(OWNER))], version >= 3 ? [["ref-0", "Maria Lopez"]] : []);
    // ... the directory kept offline still answers ...
    network(new TypeError("offline"), new TypeError("offline"));
    if (version >= 2) {
      assert.deepEqual((await directory.program(CONFIG, SERVICE.id)).service, SERVICE);
      assert.deepEqual((await directory.taxonomy(CONFIG)).map((term) => term.id), TERMS.map((term) => term.id));
    }
    // ... and the referral waiting since then goes, under the key it was filed with
    const requests = network(answer(201, { case_id: "case-1", referrals: [{ id: "ref-1", reference: "BR-2M9XA" }] }));
    const live = { token: "new-token", expiresAt: Date.now() + HOUR, user: OFFICER };
    assert.equal(await outbox.flush({ config: CONFIG, session: live }), "done");
    assert.equal(requests.length, 1);
    assert.equal(requests[0].headers["Idempotency-Key"], "tablet-item-waiting");
    assert.deepEqual(requests[0].body, REFERRAL);
    assert.deepEqual(await outbox.unsent(OWNER), []);
    // a month on, the tablet forgets the confirmed ones, the oldest version's among them
    await outbox.forgetOldConfirmed(OWNER, Date.now() + outbox.KEEP_CONFIRMED_MS + HOUR);
    assert.deepEqual(await outbox.items(OWNER), []);
  });
}
