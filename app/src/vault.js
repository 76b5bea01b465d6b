// Family data on the tablet is sealed with AES-GCM under a key derived from the officer's PIN.
// The key is non-extractable and lives only in this module's memory: after sign-out, a reload
// or a restart only ciphertext remains until the officer unlocks again.
import { database } from "./db.js";

// PBKDF2-SHA256 rounds for a new vault (OWASP's 2023 figure). Each vault records its own count,
// so raising this figure leaves older vaults openable (a PIN derived with the wrong count would
// read as a wrong PIN, and ten of those erase the vault).
const ITERATIONS = 600_000;
const ITERATIONS_BEFORE_RECORDED = 600_000; // vaults made before the count was recorded
const CHECK = "bridges-vault-check-v1";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let unlocked = null; // { owner, key }

export class WrongPin extends Error {}

const COMMON_PINS = new Set(["123123", "112233", "121212", "159753", "147258", "696969", "111222", "101010", "131313", "123321"]);

/** Why a new PIN is too easy to guess (a message key), or null. Six to twelve digits; not one
 *  digit repeated, not a run up or down (123456, 987654), not a short pattern repeated (121212,
 *  123123), not a common one, not the officer's badge number. */
export function weakPin(pin, badge = "") {
  if (!/^\d{6,12}$/.test(pin)) return "pin.rule";
  const digits = [...pin].map(Number);
  const steps = new Set(digits.slice(1).map((d, i) => d - digits[i]));
  if (steps.size === 1 && [0, 1, -1].includes([...steps][0])) return "pin.too_simple";
  for (let period = 1; period <= pin.length / 2; period += 1) {
    if (pin.length % period === 0 && pin === pin.slice(0, period).repeat(pin.length / period)) return "pin.too_simple";
  }
  if (COMMON_PINS.has(pin)) return "pin.too_simple";
  const badgeDigits = (badge.match(/\d+/g) ?? []).join("");
  if (badgeDigits.length >= 4 && pin.includes(badgeDigits)) return "pin.badge";
  return null;
}
export class Locked extends Error {}

async function derive(pin, salt, iterations) {
  const material = await crypto.subtle.importKey("raw", encoder.encode(pin), "PBKDF2", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", salt, iterations, hash: "SHA-256" },
    material,
    { name: "AES-GCM", length: 256 },
    false, // non-extractable: script can use it, never read it
    ["encrypt", "decrypt"],
  );
}

async function sealWith(key, value) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = encoder.encode(JSON.stringify(value));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, data);
  return { v: 1, iv, ciphertext };
}

async function openWith(key, sealed) {
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv }, key, sealed.ciphertext);
  return JSON.parse(decoder.decode(plain));
}

export async function hasVault(owner) {
  return Boolean(await (await database()).get("vaults", owner));
}

/** First unlock on this tablet: choose the PIN that protects this officer's data. */
export async function createVault(owner, pin) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const key = await derive(pin, salt, ITERATIONS);
  const check = await sealWith(key, CHECK);
  // add, not put: a second tab choosing a PIN at the same time must not replace this one's salt
  await (await database()).add("vaults", { owner, salt, iterations: ITERATIONS, check, failures: 0, created_at: new Date().toISOString() });
  unlocked = { owner, key };
}

export const MAX_FAILURES = 10; // then the sealed data is erased (a lost tablet's last defence)

/** Read-modify-write of one vault in one transaction (attempts in other tabs queue behind it). */
async function changeVault(owner, change) {
  const tx = (await database()).transaction("vaults", "readwrite");
  const vault = await tx.store.get(owner);
  const changed = vault && change(vault);
  if (changed) await tx.store.put(changed);
  await tx.done;
  return changed;
}

const erased = () => new WrongPin("erased", { cause: { erased: true, left: 0 } });

export async function unlock(owner, pin) {
  // the attempt is counted before the PIN is tried: attempts made at once (several tabs, each
  // deriving for a while) each count, and a page closed meanwhile does not take one back
  const vault = await changeVault(owner, (v) => ({ ...v, failures: (v.failures ?? 0) + 1 }));
  if (!vault) throw new Locked("no vault for this user on this tablet");
  const key = await derive(pin, vault.salt, vault.iterations ?? ITERATIONS_BEFORE_RECORDED);
  let opened = false;
  try {
    opened = (await openWith(key, vault.check)) === CHECK;
  } catch {
    opened = false;
  }
  if (!opened) {
    if (vault.failures >= MAX_FAILURES) {
      await destroyVault(owner);
      throw erased();
    }
    throw new WrongPin("wrong PIN", { cause: { erased: false, left: MAX_FAILURES - vault.failures } });
  }
  // erased meanwhile by the tenth wrong PIN in another tab: nothing is left to open
  if (!(await changeVault(owner, (v) => ({ ...v, failures: 0 })))) throw erased();
  unlocked = { owner, key };
}

export function lock() {
  unlocked = null;
}

export function unlockedFor(owner) {
  return unlocked !== null && unlocked.owner === owner;
}

export async function seal(value) {
  if (!unlocked) throw new Locked("locked");
  return sealWith(unlocked.key, value);
}

export async function open(sealed) {
  if (!unlocked) throw new Locked("locked");
  return openWith(unlocked.key, sealed);
}

/** Forgotten PIN: the only way out erases what it protected. */
export async function destroyVault(owner) {
  const db = await database();
  const tx = db.transaction(["vaults", "sessions", "outbox", "personal"], "readwrite");
  await tx.objectStore("vaults").delete(owner);
  await tx.objectStore("sessions").delete(owner);
  for (const name of ["outbox", "personal"]) {
    const store = tx.objectStore(name);
    for (const key of await store.index("owner").getAllKeys(owner)) await store.delete(key);
  }
  await tx.done;
  if (unlocked?.owner === owner) unlocked = null;
}
