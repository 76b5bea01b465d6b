// Where the APIs are, as the server that serves the app says (kept for offline starts:
// it holds no personal data).
const KEY = "bridges.config";
const DEFAULTS = { directory_url: "", referrals_url: "", notifications_url: "", prometheus_url: "", sign_in: "none" };

export async function loadConfig() {
  try {
    // the same request as index.html's preload (so that one is used); the server says no-cache.
    // A weak signal must not hold the app on its boot screen: the saved copy after 2.5 s.
    const response = await fetch(new URL("config.json", document.baseURI), {
      signal: AbortSignal.timeout(2500),
    });
    if (response.ok) {
      const config = { ...DEFAULTS, ...(await response.json()) };
      localStorage.setItem(KEY, JSON.stringify(config));
      return config;
    }
  } catch {
    // offline: the last known configuration below
  }
  const saved = localStorage.getItem(KEY);
  return saved ? { ...DEFAULTS, ...JSON.parse(saved) } : DEFAULTS;
}
