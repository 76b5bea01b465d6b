// The outbox: its retry pacing (bounded, jittered, the server's Retry-After honoured), and how it
// sends, on the tablet's own storage (the real outbox, vault and api modules over fake-indexeddb
// and node's WebCrypto; only the network's answers are the test's).
import assert from "node:assert/strict";
import { before, beforeEach, test } from "node:test";
import { CONFIG, answer, network, officerSession, quickVault } from "./support/tablet.mjs";
import * as outbox from "../src/outbox.js";
import { RETRY_CAP_MS, backoff } from "../src/outbox.js";
import * as vault from "../src/vault.js";

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

// -- sending ----------------------------------------------------------------------------------

const PIN = "739251";
const REFERRAL = {
  client: { given_name: "Maria", family_name: "Lopez", contact: { preferred_channel: "phone", phone: "503-555-0101" } },
  needs: ["food"],
  urgency: "high",
  program_ids: ["5f0c1d2e-0000-4000-8000-000000000001"],
};
const LABEL = { family: "Maria Lopez", programs: ["Riverton Community Food Bank"] };
const CREATED = { case_id: "case-1", referrals: [{ id: "referral-1", reference: "BR-7K2QD" }] };

// One officer for the file, with a vault of few rounds (fast): each test starts with an empty
// outbox and the vault open.
const session = officerSession();
const owner = session.user.id;
before(() => quickVault(owner, PIN));
beforeEach(async () => {
  for (const item of await outbox.items(owner)) await outbox.discard(item.id);
  if (!vault.unlockedFor(owner)) await vault.unlock(owner, PIN);
});

const fileOne = (body = REFERRAL) => outbox.file(owner, body, LABEL);

const stored = async (item) => (await outbox.items(item.owner)).find((one) => one.id === item.id);

test("a 201 confirms the referral: the body leaves the tablet, the family's name stays sealed", async () => {
  const item = await fileOne();
  let stateWhileOut = null;
  const requests = network(async () => {
    stateWhileOut = (await stored(item)).state;
    return answer(201, CREATED);
  });
  assert.equal(await outbox.flush({ config: CONFIG, session }), "done");
  assert.equal(requests.length, 1);
  const [sent] = requests;
  assert.equal(sent.method, "POST");
  assert.equal(sent.url, `${CONFIG.referrals_url}/referrals`);
  assert.equal(sent.headers.Authorization, `Bearer ${session.token}`);
  assert.equal(sent.headers["Idempotency-Key"], item.idempotency_key);
  assert.deepEqual(sent.body, REFERRAL);
  assert.equal(stateWhileOut, "sent");
  const after = await stored(item);
  assert.equal(after.state, "confirmed");
  assert.deepEqual(after.result, { case_id: "case-1", referral_ids: ["referral-1"], references: ["BR-7K2QD"] });
  assert.deepEqual(await vault.open(after.sealed), { label: LABEL }); // the referral itself is gone
  assert.deepEqual(await outbox.unsent(owner), []);
  assert.equal((await outbox.familyNames(owner)).get("referral-1"), "Maria Lopez");
  // nothing is due: a later flush sends nothing
  assert.equal(await outbox.flush({ config: CONFIG, session, force: true }), "done");
  assert.equal(requests.length, 1);
});

test("a 401 keeps the referral, sealed and waiting, and asks the officer to sign in again", async () => {
  const item = await fileOne();
  const requests = network(answer(401, { type: "about:blank", title: "Unauthorized", status: 401, detail: "token expired" }));
  const before = Date.now();
  assert.equal(await outbox.flush({ config: CONFIG, session }), "signed-out");
  assert.equal(requests.length, 1);
  const after = await stored(item);
  assert.equal(after.state, "waiting");
  assert.equal(after.attempts, 1);
  assert.equal(after.error, null);
  assert.ok(after.next_attempt_at > before);
  assert.deepEqual(await vault.open(after.sealed), { body: REFERRAL, label: LABEL });
  assert.deepEqual((await outbox.unsent(owner)).map((one) => one.id), [item.id]);
  // a token about to expire is not even tried
  const expiring = { ...session, expiresAt: Date.now() + 30_000 };
  assert.equal(await outbox.flush({ config: CONFIG, session: expiring, force: true }), "signed-out");
  assert.equal(requests.length, 1);
});

test("a 5xx keeps the referral and waits the server's Retry-After before sending it again", async () => {
  const item = await fileOne();
  const requests = network(answer(503, { type: "about:blank", title: "Unavailable", status: 503, detail: "busy" }, { "Retry-After": "120" }));
  const before = Date.now();
  assert.equal(await outbox.flush({ config: CONFIG, session }), "server");
  const after = await stored(item);
  assert.equal(after.state, "waiting");
  assert.ok(after.next_attempt_at >= before + 120_000 && after.next_attempt_at <= Date.now() + 120_000, after.next_attempt_at - before);
  // the timer's flush (not forced) respects the wait: nothing goes
  assert.equal(await outbox.flush({ config: CONFIG, session }), "done");
  assert.equal(requests.length, 1);
  assert.equal((await stored(item)).state, "waiting");
});

test("no answer (network down, or a proxy's page) keeps the referral and retries after a backoff", async () => {
  const item = await fileOne();
  const proxyPage = new Response("<html>Sign in to the hotel Wi-Fi</html>", { status: 200, headers: { "Content-Type": "text/html" } });
  const requests = network(new TypeError("fetch failed"), proxyPage);
  const before = Date.now();
  assert.equal(await outbox.flush({ config: CONFIG, session }), "offline");
  let after = await stored(item);
  assert.equal(after.state, "waiting");
  assert.equal(after.attempts, 1);
  // the first backoff: 2.5 to 5 seconds
  assert.ok(after.next_attempt_at >= before + 2_500 && after.next_attempt_at <= Date.now() + 5_000, after.next_attempt_at - before);
  assert.equal(await outbox.flush({ config: CONFIG, session, force: true }), "offline");
  after = await stored(item);
  assert.equal(after.state, "waiting");
  assert.equal(after.attempts, 2);
  assert.equal(requests.length, 2);
  assert.deepEqual(await vault.open(after.sealed), { body: REFERRAL, label: LABEL });
});

test("a tablet with no network at all sends nothing, and the referral keeps its place", async () => {
  const item = await fileOne();
  const requests = network(answer(201, CREATED));
  const had = Object.getOwnPropertyDescriptor(globalThis, "navigator");
  Object.defineProperty(globalThis, "navigator", { value: { onLine: false }, configurable: true });
  try {
    assert.equal(await outbox.flush({ config: CONFIG, session, force: true }), "offline");
  } finally {
    if (had) Object.defineProperty(globalThis, "navigator", had);
    else delete globalThis.navigator;
  }
  assert.equal(requests.length, 0);
  const after = await stored(item);
  assert.equal(after.state, "waiting");
  assert.equal(after.attempts, 0);
});

test("every retry sends the same body under the same Idempotency-Key", async () => {
  const item = await fileOne();
  const requests = network(
    new TypeError("fetch failed"),
    answer(502, { type: "about:blank", title: "Bad Gateway", status: 502, detail: "upstream" }),
    answer(429, { type: "about:blank", title: "Too Many Requests", status: 429, detail: "slow down" }, { "Retry-After": "1" }),
    answer(401, { type: "about:blank", title: "Unauthorized", status: 401, detail: "expired" }),
    answer(201, CREATED),
  );
  const outcomes = [];
  for (let round = 0; round < 5; round += 1) outcomes.push(await outbox.flush({ config: CONFIG, session, force: true }));
  assert.deepEqual(outcomes, ["offline", "server", "server", "signed-out", "done"]);
  assert.equal(requests.length, 5);
  assert.deepEqual(new Set(requests.map((r) => r.headers["Idempotency-Key"])), new Set([item.idempotency_key]));
  for (const request of requests) assert.deepEqual(request.body, REFERRAL);
  const after = await stored(item);
  assert.equal(after.state, "confirmed");
  assert.equal(after.attempts, 5);
});

test("a locked vault sends nothing; locked during a send, the next referral waits for the PIN", async () => {
  await fileOne();
  await fileOne({ ...REFERRAL, urgency: "routine" });
  vault.lock();
  let requests = network(answer(201, CREATED));
  assert.equal(await outbox.flush({ config: CONFIG, session, force: true }), "locked");
  assert.equal(requests.length, 0);
  assert.deepEqual((await outbox.unsent(owner)).map((one) => one.state), ["waiting", "waiting"]);

  await vault.unlock(owner, PIN);
  requests = network(() => {
    vault.lock(); // the officer locks the tablet while the first referral is out
    return answer(201, CREATED);
  });
  assert.equal(await outbox.flush({ config: CONFIG, session, force: true }), "locked");
  assert.equal(requests.length, 1);
  const [sent, waiting] = [...(await outbox.items(owner))].sort((a, b) => b.attempts - a.attempts);
  assert.equal(sent.state, "confirmed");
  assert.equal(waiting.state, "waiting");
  assert.equal(waiting.attempts, 0);
});

test("a 4xx problem marks the referral refused with the server's reason, and the next one still goes", async () => {
  const refused = await fileOne();
  const next = await fileOne({ ...REFERRAL, urgency: "routine" });
  const problem = {
    type: "https://bridges.example/problems/validation",
    title: "Unprocessable Content",
    status: 422,
    detail: "1 field is not valid",
    errors: [{ loc: ["body", "client", "contact", "phone"], msg: "not a phone number" }],
  };
  // the server refuses the urgent one (whichever goes first) and takes the routine one
  const server = (request) => (request.body.urgency === "high" ? answer(422, problem) : answer(201, CREATED));
  const requests = network(server, server);
  assert.equal(await outbox.flush({ config: CONFIG, session }), "done");
  assert.equal(requests.length, 2);
  const after = await stored(refused);
  assert.equal(after.state, "refused");
  assert.deepEqual(after.error, { status: 422, title: problem.title, detail: problem.detail, errors: problem.errors });
  assert.deepEqual(await vault.open(after.sealed), { body: REFERRAL, label: LABEL }); // kept, to be edited and filed again
  assert.equal((await stored(next)).state, "confirmed");
  // refused is final: never sent again
  assert.equal(await outbox.flush({ config: CONFIG, session, force: true }), "done");
  assert.equal(requests.length, 2);
});
