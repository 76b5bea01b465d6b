// The tablet's IndexedDB: one module owns the schema and its upgrade steps.
// Stores: `vaults` (per officer: PIN salt, rounds and a sealed check value), `sessions` (the sealed
// access token), `outbox` (referrals filed on this tablet, family data sealed), `programs` and
// `taxonomy` (public directory data, in the clear, with the time it was fetched), `personal`
// (per officer and kind, sealed: the referral being written, the officer's own preferences,
// the last list of their referrals the server confirmed), `public` (public documents by name:
// the directory's lexicon, so offline search matches words as the server does).
import { openDB } from "idb";

export const DB_NAME = "bridges";
export const DB_VERSION = 4;

// Each step takes the database from version `n - 1` to `n`; never edit a released step.
export const UPGRADES = [
  (db) => {
    db.createObjectStore("vaults", { keyPath: "owner" });
    db.createObjectStore("sessions", { keyPath: "owner" });
    const outbox = db.createObjectStore("outbox", { keyPath: "id" });
    outbox.createIndex("owner", "owner");
  },
  (db) => {
    const programs = db.createObjectStore("programs", { keyPath: "id" });
    programs.createIndex("fetched_at", "fetched_at");
    db.createObjectStore("taxonomy", { keyPath: "id" });
  },
  (db) => {
    const personal = db.createObjectStore("personal", { keyPath: ["owner", "kind"] });
    personal.createIndex("owner", "owner");
  },
  (db) => {
    db.createObjectStore("public", { keyPath: "name" });
  },
];

let opened = null;

export function database() {
  opened ??= openDB(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion) {
      for (let step = oldVersion; step < UPGRADES.length; step += 1) UPGRADES[step](db);
    },
    blocking() {
      // another tab needs a newer schema: let it go ahead; this tab reopens on next use
      opened?.then((db) => db.close());
      opened = null;
    },
  });
  return opened;
}

/** Refuse to start on storage that cannot be written (private mode, full disk). */
export async function checkWritable() {
  const db = await database();
  const probe = { owner: "__probe__" };
  await db.put("sessions", probe);
  await db.delete("sessions", probe.owner);
}
