// What a tablet's browser gives the storage modules, in node: IndexedDB (fake-indexeddb, in
// memory, one per test file's process), WebCrypto (node's own globalThis.crypto) and a network
// whose every answer the test chooses (fetch replaced at the edge; api.js runs for real).
import "fake-indexeddb/auto";
import { database } from "../../src/db.js";

const noNetwork = async (url) => {
  throw new Error(`no answer was planned for ${url}`);
};
globalThis.fetch = noNetwork;

/**
 * The network answers the next requests with `answers`, in order: a Response, an Error (no
 * answer: thrown), or a function of the request giving either. Returns the requests made
 * ({ url, method, headers, body }), for the test to read. After the last answer, no answer.
 */
export function network(...answers) {
  const requests = [];
  globalThis.fetch = async (url, init = {}) => {
    const request = {
      url: String(url),
      method: init.method ?? "GET",
      headers: { ...init.headers },
      body: init.body === undefined ? undefined : JSON.parse(init.body),
    };
    requests.push(request);
    let answer = answers.shift();
    if (typeof answer === "function") answer = await answer(request);
    if (answer === undefined) return noNetwork(request.url);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return requests;
}

/** A JSON answer, as the APIs give one (problem+json for an error status). */
export function answer(status, body, headers = {}) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type, ...headers } });
}

/** An officer signed in for the next hour, new to this tablet (fresh ids isolate tests). */
export function officerSession() {
  const id = crypto.randomUUID();
  return { token: `token-${id}`, expiresAt: Date.now() + 3_600_000, user: { id, role: "officer", name: "Dana Reyes" } };
}

export const CONFIG = { referrals_url: "https://tablet.test/api/referrals", directory_url: "https://tablet.test/api/directory" };

const encoder = new TextEncoder();

/**
 * A vault made here by hand as vault.js makes one (PBKDF2-SHA256 to an AES-GCM-256 key, a check
 * value sealed under it), written from its code rather than by it: the format on the tablet is
 * checked too. `iterations`: few keep a test fast (vault.js derives with the count a vault
 * records); none, as vaults made before the count was recorded (600,000). Returns the vault's
 * fields and `seal`, which seals a value as vault.js does ({ v, iv, ciphertext }).
 */
export async function handMadeVault(pin, iterations) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const material = await crypto.subtle.importKey("raw", encoder.encode(pin), "PBKDF2", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "PBKDF2", salt, iterations: iterations ?? 600_000, hash: "SHA-256" },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
  const seal = async (value) => {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, encoder.encode(JSON.stringify(value)));
    return { v: 1, iv, ciphertext };
  };
  const fields = { salt, check: await seal("bridges-vault-check-v1"), ...(iterations ? { iterations } : {}) };
  return { fields, seal };
}

/** A vault of few rounds for `owner` on the tablet, still locked (unlock it with `pin`). */
export async function quickVault(owner, pin) {
  const { fields } = await handMadeVault(pin, 1_000);
  await (await database()).put("vaults", { owner, ...fields, failures: 0, created_at: new Date().toISOString() });
}
