// What a tablet's browser gives the storage modules, in node: IndexedDB (fake-indexeddb, in
// memory, one per test file's process), WebCrypto (node's own globalThis.crypto) and a network
// whose every answer the test chooses (fetch replaced at the edge; api.js runs for real).
import "fake-indexeddb/auto";

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
