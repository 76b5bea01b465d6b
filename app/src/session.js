// Who is signed in on this tablet. An officer's tokens (access, refresh) are sealed in the vault
// (they open only with the PIN); agency staff keep theirs for the tab only. Only the signed-in
// user's own name and role are kept in the clear, so the lock screen can greet them.
import { database } from "./db.js";
import * as vault from "./vault.js";

const LAST_USER = "bridges.user";
const STAFF_SESSION = "bridges.staff-session";

export const isOfficer = (user) => user?.role === "officer";

export function lastUser() {
  const saved = localStorage.getItem(LAST_USER);
  return saved ? JSON.parse(saved) : null;
}

function remember(user) {
  const { id, name, role, agency_id = null, agency_name = null } = user;
  localStorage.setItem(LAST_USER, JSON.stringify({ id, name, role, agency_id, agency_name }));
}

/** After sign-in or a refresh. Officers unlock (or create) their vault before `keep`. */
export async function keep(signedIn) {
  remember(signedIn.user);
  const { token, refreshToken = null, idToken = null, expiresAt } = signedIn;
  const tokens = { token, refreshToken, idToken, expiresAt };
  if (isOfficer(signedIn.user)) {
    const sealed = await vault.seal(tokens);
    await (await database()).put("sessions", { owner: signedIn.user.id, sealed });
  } else {
    sessionStorage.setItem(STAFF_SESSION, JSON.stringify({ ...tokens, user: signedIn.user }));
  }
}

/** The saved session of `user`: its access token still good, or a refresh token to renew it
 *  (officers: the vault must be unlocked). */
export async function restore(user) {
  let saved = null;
  if (isOfficer(user)) {
    const row = await (await database()).get("sessions", user.id);
    if (row) saved = await vault.open(row.sealed);
  } else {
    const text = sessionStorage.getItem(STAFF_SESSION);
    saved = text ? JSON.parse(text) : null;
  }
  if (!saved || (!saved.refreshToken && saved.expiresAt < Date.now() + 60_000)) return null;
  const { token, refreshToken = null, idToken = null, expiresAt } = saved;
  return { token, refreshToken, idToken, expiresAt, user };
}

/** Sign out: the token and the key go; unsent referrals stay, sealed, for the next unlock. */
export async function signOut(user) {
  if (user) {
    const db = await database();
    await db.delete("sessions", user.id);
    const tx = db.transaction("outbox", "readwrite");
    for (const item of await tx.store.index("owner").getAll(user.id)) {
      if (item.state === "confirmed") await tx.store.delete(item.id);
    }
    await tx.done;
  }
  sessionStorage.removeItem(STAFF_SESSION);
  localStorage.removeItem(LAST_USER);
  vault.lock();
}
