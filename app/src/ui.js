// Small shared pieces of the interface: the html tag, the app context, the live region.
import { cloneElement, createContext, h } from "preact";
import { useContext, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { Problem, Unreachable } from "./api.js";
import { t } from "./i18n.js";

export const html = htm.bind(h);
export const AppContext = createContext(null);
export const useApp = () => useContext(AppContext);

/** One polite live region for the whole app: screen readers hear what changed. */
let announceTo = null;
export function announce(message) {
  if (!announceTo) return;
  announceTo.textContent = "";
  setTimeout(() => {
    if (announceTo) announceTo.textContent = message;
  }, 50);
}
export function LiveRegion() {
  const ref = useRef(null);
  useEffect(() => {
    announceTo = ref.current;
  }, []);
  return html`<div class="visually-hidden" role="status" aria-live="polite" ref=${ref}></div>`;
}

/** The time now, renewed every `everyMs` (for clocks counting down on screen). */
export function useNow(everyMs = 30_000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** A heading that takes focus when its screen opens (screen readers start there), and the
 *  screen starts at its top — unless it puts back where it was scrolled to (`keepScroll`). */
export function ScreenTitle({ children, focus = true, keepScroll = false }) {
  const ref = useRef(null);
  useLayoutEffect(() => {
    if (!keepScroll) window.scrollTo(0, 0);
  }, []);
  useEffect(() => {
    if (focus) ref.current?.focus({ preventScroll: true });
  }, []);
  return html`<h1 tabindex="-1" ref=${ref}>${children}</h1>`;
}

export function Field({ id, label, hint, error, children }) {
  // the control is told its hint and its error, so a screen reader reads them with it
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ");
  const control =
    children && typeof children === "object" && !Array.isArray(children)
      ? cloneElement(children, { "aria-describedby": described || undefined, "aria-invalid": error ? "true" : undefined })
      : children;
  return html`<div class=${`field${error ? " has-error" : ""}`}>
    <label for=${id}>${label}</label>
    ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : null}
    ${control}
    ${error ? html`<p class="error" id=${`${id}-error`}>${error}</p>` : null}
  </div>`;
}

export function StatusBadge({ status }) {
  return html`<span class=${`badge status-${status}`}>${t(`status.${status}`)}</span>`;
}

export function Notice({ kind = "info", children }) {
  return html`<div class=${`notice notice-${kind}`} role=${kind === "error" ? "alert" : null}>${children}</div>`;
}

/** What went wrong, in words a person can act on: the server's own explanation of a refusal,
 *  or the app's words for no connection and for its own faults — never a browser's raw error
 *  text ("Failed to fetch") or a stack trace. */
export function problemText(error) {
  if (!error) return "";
  if (error instanceof Unreachable) return t("problem.unreachable");
  if (!(error instanceof Problem)) return t("problem.unexpected");
  if (error.status === 429 || error.status >= 500) return t("problem.busy");
  const problem = error.problem;
  const fields = (problem.errors ?? [])
    .map((e) => `${(e.location ?? []).filter((part) => part !== "body").join(".")}: ${e.message ?? ""}`)
    .join("; ");
  const said = [problem.detail || problem.title, fields].filter(Boolean).join(" — ");
  return said || t("problem.refused", { status: error.status });
}

/** A table that may scroll sideways on a narrow screen. Its frame is a region named by the
 *  caption that takes the keyboard's focus, so the table can be scrolled without a pointer. */
export function TableFrame({ caption, className = "", children }) {
  return html`<div class="admin-table-wrap" role="region" aria-label=${caption} tabindex="0">
    <table class=${`admin-table ${className}`.trim()}>
      <caption class="visually-hidden">${caption}</caption>
      ${children}
    </table></div>`;
}
