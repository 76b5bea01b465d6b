// What the admin screens share: a searched and paged HSDS list, a document read with its ETag and
// saved with it (If-Match: a colleague's change meanwhile is refused, never overwritten), the
// API's refusals shown at the fields they are about, and a confirmation before what cannot be
// undone.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { call, withQuery } from "../api.js";
import { formatNumber, t } from "../i18n.js";
import { href } from "../router.js";
import { Field, Notice, ScreenTitle, TableFrame, announce, html, problemText, useApp } from "../ui.js";
import { fieldErrors, valueAt, withValue } from "./admin-fields.js";

export const PER_PAGE = 25;

/** A page of an HSDS list (`/organizations`, `/locations`, ...) for the words searched
 *  (`params`: more of the query, or a function of the words searched giving it). */
export function useHsdsList(base, path, params = {}) {
  const { session } = useApp();
  const [search, setSearch] = useState("");
  const [pageNumber, setPage] = useState(1);
  const [page, setPageData] = useState(null);
  const [error, setError] = useState(null);
  const [version, setVersion] = useState(0);
  const extra = typeof params === "function" ? params(search) : params;
  const key = JSON.stringify(extra);
  useEffect(() => {
    let current = true;
    setError(null);
    const url = withQuery(base, path, { ...extra, search: search || undefined, page: pageNumber, per_page: PER_PAGE });
    call(url, { token: session.token }).then(
      ({ data }) => current && setPageData(data),
      (e) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [search, pageNumber, version, key]);
  const searchFor = (words) => {
    setPage(1);
    setSearch(words);
  };
  return { page, error, search, searchFor, pageNumber, setPage, reload: () => setVersion(version + 1) };
}

export function ListSearch({ id, label, value, onSearch }) {
  const [typed, setTyped] = useState(value);
  return html`<form class="admin-search" role="search" onSubmit=${(e) => { e.preventDefault(); onSearch(typed.trim()); }}>
    <label for=${id}>${label}</label>
    <div class="row">
      <input id=${id} type="search" maxlength="200" autocomplete="off" value=${typed}
        onInput=${(e) => setTyped(e.currentTarget.value)} />
      <button class="primary" type="submit">${t("admin.search")}</button>
      ${value ? html`<button type="button" onClick=${() => { setTyped(""); onSearch(""); }}>${t("common.clear")}</button>` : null}
    </div>
  </form>`;
}

/** "Page 2 of 5 · 113 found", with the way to the next and previous pages. */
export function Pager({ page, onPage }) {
  if (!page || page.total_pages <= 1) {
    return page ? html`<p class="muted">${t("admin.found", { count: formatNumber(page.total_items) })}</p>` : null;
  }
  return html`<nav class="pager" aria-label=${t("admin.pages")}>
    <button type="button" disabled=${page.first_page} onClick=${() => onPage(page.page_number - 1)}>← ${t("admin.previous")}</button>
    <span>${t("admin.page_of", { page: page.page_number, pages: page.total_pages, count: formatNumber(page.total_items) })}</span>
    <button type="button" disabled=${page.last_page} onClick=${() => onPage(page.page_number + 1)}>${t("admin.next")} →</button>
  </nav>`;
}

/** The list's frame: its title, a way to add one, the search, what loads or failed, the pager. */
export function ListScreen({ title, addTo, addLabel, list, searchLabel, children }) {
  return html`<section class="admin-list">
    <div class="row between admin-head">
      <${ScreenTitle}>${title}</${ScreenTitle}>
      ${addTo ? html`<a class="button primary" href=${href(addTo, "new")}>${addLabel}</a>` : null}
    </div>
    <${ListSearch} id="admin-q" label=${searchLabel} value=${list.search} onSearch=${list.searchFor} />
    ${list.error ? html`<${Notice} kind="error">${problemText(list.error)}</${Notice}>` : null}
    ${!list.page && !list.error ? html`<p>${t("common.loading")}</p>` : null}
    ${list.page?.empty ? html`<p class="muted">${list.search ? t("admin.none_found") : t("admin.empty")}</p>` : null}
    ${list.page && !list.page.empty ? children(list.page.contents) : null}
    <${Pager} page=${list.page} onPage=${list.setPage} />
  </section>`;
}

/** GET a document with its ETag. */
export async function readDocument(url, token) {
  const { data, headers } = await call(url, { token });
  return { document: data, etag: headers.get("ETag") };
}

/** PUT (or POST, DELETE) a document with the ETag read; the answer with its new ETag. */
export async function writeDocument(url, { token, method = "PUT", body, etag }) {
  const headers = etag ? { "If-Match": etag } : {};
  const { data, headers: answered, status } = await call(url, { method, token, body, headers });
  return { document: data, etag: answered.get("ETag"), status, headers: answered };
}

/** A document being edited: its fields by path, the ETag it was read at, and the last refusal
 *  split by field. `save(send)` runs `send(document, etag)` and keeps what the server answered. */
export function useEditedDocument(load, fields, deps) {
  const [state, setState] = useState({ document: null, etag: null, loadError: null });
  const [refusal, setRefusal] = useState({ byField: {}, rest: [], message: null });
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    setState({ document: null, etag: null, loadError: null });
    load().then(
      ({ document, etag }) => setState({ document, etag, loadError: null }),
      (e) => setState({ document: null, etag: null, loadError: e }),
    );
  }, deps);
  const edit = (path, value) => setState((s) => ({ ...s, document: withValue(s.document, path, value) }));
  const save = async (send, doneText) => {
    if (saving) return false;
    setSaving(true);
    try {
      const saved = await send(state.document, state.etag);
      if (saved?.document) setState({ document: saved.document, etag: saved.etag, loadError: null });
      setRefusal({ byField: {}, rest: [], message: null });
      announce(doneText);
      return saved ?? true;
    } catch (e) {
      const split = fieldErrors(e.problem, fields);
      const stale = e.status === 412;
      setRefusal({ ...split, message: stale ? t("admin.changed_meanwhile") : problemText(e), stale });
      return false;
    } finally {
      setSaving(false);
    }
  };
  return { ...state, edit, save, saving, refusal, setRefusal };
}

/** One control of a document form, bound to the field at `path`. */
export function DocField({ doc, path, label, hint, type = "text", options, rows, ...rest }) {
  const id = `f-${path.replaceAll(".", "-")}`;
  const value = valueAt(doc.document, path);
  const error = doc.refusal.byField[path];
  const set = (raw) => {
    if (type === "number") return doc.edit(path, raw === "" ? undefined : Number(raw));
    return doc.edit(path, raw);
  };
  let control;
  if (options) {
    control = html`<select id=${id} value=${value ?? ""} onChange=${(e) => set(e.currentTarget.value)}>
      ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
    </select>`;
  } else if (type === "textarea") {
    control = html`<textarea id=${id} rows=${rows ?? 3} value=${value ?? ""} onInput=${(e) => set(e.currentTarget.value)} ...${rest}></textarea>`;
  } else {
    control = html`<input id=${id} type=${type} value=${value ?? ""} onInput=${(e) => set(e.currentTarget.value)} ...${rest} />`;
  }
  return html`<${Field} id=${id} label=${label} hint=${hint} error=${error}>${control}</${Field}>`;
}

/** What the last save said: refused (with the messages no field holds), or done. It takes the
 *  focus when it changes, so it is seen (and read) even at the bottom of a long form — in the
 *  same render that shows it (a layout effect): focus moved a frame later would take the keys of
 *  someone already correcting a field. */
export function SaveOutcome({ doc, done }) {
  const { message, rest, stale } = doc.refusal;
  const ref = useRef(null);
  useLayoutEffect(() => {
    if (message || done) ref.current?.focus();
  }, [doc.refusal, done]);
  if (message) {
    return html`<div class="notice notice-error" role="alert" tabindex="-1" ref=${ref}>
      <p>${message}</p>
      ${rest.length ? html`<ul>${rest.map((r) => html`<li>${r}</li>`)}</ul>` : null}
      ${stale ? html`<button type="button" onClick=${() => location.reload()}>${t("admin.reload")}</button>` : null}
    </div>`;
  }
  return done ? html`<div class="notice notice-info" tabindex="-1" ref=${ref}>${done}</div>` : null;
}

/** A button that asks once more before what cannot be undone (focus goes to the question). */
export function ConfirmButton({ label, question, confirmLabel, onConfirm, disabled }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return html`<button type="button" class="danger" disabled=${disabled} onClick=${() => setAsking(true)}>${label}</button>`;
  }
  return html`<div class="confirm" role="group" aria-label=${label}>
    <p tabindex="-1" ref=${(el) => el?.focus()}>${question}</p>
    <div class="actions">
      <button type="button" class="danger" onClick=${async () => { setAsking(false); await onConfirm(); }}>${confirmLabel ?? label}</button>
      <button type="button" onClick=${() => setAsking(false)}>${t("common.cancel")}</button>
    </div>
  </div>`;
}

/** A list as a table: `columns` are [heading, (item) => cell]; the first cell links the item. */
export function Table({ caption, columns, items, linkOf }) {
  return html`<${TableFrame} caption=${caption}>
    <thead><tr>${columns.map(([heading]) => html`<th scope="col">${heading}</th>`)}</tr></thead>
    <tbody>
      ${items.map(
        (item) => html`<tr>
          ${columns.map(([, cell], i) =>
            i === 0 ? html`<th scope="row"><a href=${linkOf(item)}>${cell(item)}</a></th>` : html`<td>${cell(item)}</td>`,
          )}
        </tr>`,
      )}
    </tbody>
  </${TableFrame}>`;
}

export const HSDS_STATUSES = ["active", "inactive", "defunct", "temporarily closed"];

export function ProgramStatus({ status }) {
  const kind = status === "active" ? "ok" : status === "temporarily closed" ? "warn" : "muted";
  return html`<span class=${`badge badge-${kind}`}>${t(`hsds.${status.replace(" ", "_")}`)}</span>`;
}

/** References the directory kept as given (`Bridges-Warning`, one per finding; a browser joins
 *  them with ", " and each starts with its JSON path). */
export function warningsOf(headers) {
  const joined = headers.get("Bridges-Warning");
  return joined ? joined.split(/, (?=\$)/) : [];
}
