// HTTP to the Bridges APIs: JSON in and out, RFC 9457 problems as errors, a deadline on every
// call (a tablet on a weak signal must not hang), and "offline" told apart from "refused".
// Every call tells connection.js whether the server answered.
import * as connection from "./connection.js";

const TIMEOUT_MS = 10_000;

/** The server answered with an error status (its problem+json, when it sent one). */
export class Problem extends Error {
  constructor(status, problem, retryAfterS = 0) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
    this.retryAfterS = retryAfterS;
  }
  /** Worth trying again later (the server or the network is having a bad moment). */
  get transient() {
    return this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** No answer at all: no network, the server unreachable, or the deadline passed. */
export class Unreachable extends Error {}

export async function call(url, { method = "GET", token, body, headers = {}, timeoutMs = TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const sent = { Accept: "application/json, application/problem+json", ...headers };
  if (token) sent.Authorization = `Bearer ${token}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    connection.unanswered();
    throw new Unreachable(error?.message || "unreachable");
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 304) {
    connection.answered();
    return { status: 304, data: null, headers: response.headers };
  }
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("json") && response.status !== 204) {
    // a captive portal's login page, a proxy's error page: not Bridges answering
    connection.unanswered();
    throw new Unreachable(`not the server (HTTP ${response.status}, ${type || "no type"})`);
  }
  connection.answered();
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    throw new Problem(response.status, data, Number(response.headers.get("Retry-After")) || 0);
  }
  return { status: response.status, data, headers: response.headers };
}

export function withQuery(base, path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    for (const one of Array.isArray(value) ? value : [value]) query.append(name, String(one));
  }
  const text = query.toString();
  return `${base}${path}${text ? `?${text}` : ""}`;
}
