// What the tablet keeps of one officer's own work, sealed with their PIN's key (vault.js), one
// record per kind: "draft" (the referral being written and the programs chosen), "profile"
// (the officer's own work phone), "referrals" (the last list the server confirmed, readable
// offline), "seen" (the version of each referral the officer last looked at).
import { database } from "./db.js";
import * as vault from "./vault.js";

export async function keep(owner, kind, value) {
  const sealed = await vault.seal(value);
  await (await database()).put("personal", { owner, kind, sealed, saved_at: new Date().toISOString() });
}

/** The value kept, with when it was saved ({ value, saved_at }), or null (none, or locked). */
export async function read(owner, kind) {
  const row = await (await database()).get("personal", [owner, kind]);
  if (!row || !vault.unlockedFor(owner)) return null;
  try {
    return { value: await vault.open(row.sealed), saved_at: row.saved_at };
  } catch {
    return null; // sealed under another PIN's key (the vault was made again): unreadable
  }
}

export async function forget(owner, kind) {
  await (await database()).delete("personal", [owner, kind]);
}

/** Every kind but those listed, for `owner` (sign-out keeps the draft, sealed). */
export async function forgetAllBut(owner, kept = []) {
  const db = await database();
  const tx = db.transaction("personal", "readwrite");
  for (const key of await tx.store.index("owner").getAllKeys(owner)) {
    if (!kept.includes(key[1])) await tx.store.delete(key);
  }
  await tx.done;
}
