// Bridges' service worker (always at /app/sw.js; never renamed). It precaches the app shell of
// one build, named by a hash of every file in it, and serves it when the network is away.
// It never answers API requests and never stores anything personal: the shell is public, and
// directory data is kept by the page itself (IndexedDB).
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `bridges-shell-${VERSION}`;
const SCOPE = new URL("./", self.location).pathname;

self.addEventListener("install", (event) => {
  // install fails if any part of the shell cannot be fetched: no half-cached version
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((path) => SCOPE + path))));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("bridges-shell-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "skip-waiting") self.skipWaiting(); // the officer chose to reload
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  const path = url.pathname.slice(SCOPE.length);
  if (path === "config.json") return; // the page keeps the last one itself
  if (request.mode === "navigate") {
    // the shell first (it renders in well under a second offline), the network never awaited
    event.respondWith(caches.match(SCOPE + "index.html", { cacheName: CACHE }).then((hit) => hit || fetch(request)));
    return;
  }
  if (SHELL.includes(path)) {
    event.respondWith(caches.match(SCOPE + path, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
  }
});

// Background Sync (Chromium only) is a bonus: it wakes a page, and the page sends its own queue.
self.addEventListener("sync", (event) => {
  if (event.tag !== "bridges-outbox") return;
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((pages) => {
      for (const page of pages) page.postMessage({ type: "flush-outbox" });
    }),
  );
});
