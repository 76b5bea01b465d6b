// The service worker's life as the officer sees it: "ready to work offline" once, then
// "update available" when a new version waits. The update is applied only when the officer
// chooses to reload (never in the middle of a referral).
const state = { offlineReady: false, updateWaiting: null, registration: null };
const listeners = new Set();
const changed = () => listeners.forEach((listener) => listener({ ...state }));

export function onUpdates(listener) {
  listeners.add(listener);
  listener({ ...state });
  return () => listeners.delete(listener);
}

export async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  const registration = await navigator.serviceWorker.register(new URL("sw.js", document.baseURI), {
    scope: new URL("./", document.baseURI).pathname,
  });
  state.registration = registration;
  const watch = (worker) => {
    worker?.addEventListener("statechange", () => {
      if (worker.state !== "installed") return;
      if (hadController || navigator.serviceWorker.controller) state.updateWaiting = worker;
      else state.offlineReady = true;
      changed();
    });
  };
  if (registration.waiting && hadController) state.updateWaiting = registration.waiting;
  watch(registration.installing);
  registration.addEventListener("updatefound", () => watch(registration.installing));
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "flush-outbox") window.dispatchEvent(new Event("bridges:flush"));
  });
  changed();
}

export function applyUpdate() {
  const worker = state.updateWaiting;
  if (!worker) return;
  navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
  worker.postMessage({ type: "skip-waiting" });
}

/** Ask for Background Sync where it exists (Chromium); the page's own triggers still run. */
export async function requestBackgroundSync() {
  try {
    await state.registration?.sync?.register("bridges-outbox");
  } catch {
    // not supported or not allowed: the page's timer and `online` listener do the work
  }
}
