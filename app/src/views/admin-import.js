// Importing an HSDS 3.0 dataset, a dry run first: the file (JSON, or the tabular data package as
// a zip) goes up with a progress bar and is checked as an import would be, changing nothing; the
// report says what would be added, changed and retired, and every error with its path (and for
// CSV its file, row and column). Only a clean dry run of the same file offers the import itself.
// The whole directory goes out the same two ways (Export).
import { useState } from "preact/hooks";
import { Problem, Unreachable } from "../api.js";
import * as connection from "../connection.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { formatNumber, t } from "../i18n.js";
import { href } from "../router.js";
import { Notice, ScreenTitle, TableFrame, announce, html, problemText, useApp } from "../ui.js";

const UPLOAD_TIMEOUT_MS = 10 * 60_000; // a large file on a slow line, then the server's check

/** POST a file with its upload's progress (`fetch` reports none): the server's JSON answer, or
 *  the same `Problem` / `Unreachable` as `api.call`. */
export function upload(url, { token, file, onProgress }) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.timeout = UPLOAD_TIMEOUT_MS;
    request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.setRequestHeader("Accept", "application/json, application/problem+json");
    request.setRequestHeader("Content-Type", isZip(file) ? "application/zip" : "application/json");
    request.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    request.upload.onload = () => onProgress(1);
    const unanswered = () => {
      connection.unanswered();
      reject(new Unreachable("the upload got no answer"));
    };
    request.onerror = unanswered;
    request.ontimeout = unanswered;
    request.onload = () => {
      connection.answered();
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        return reject(new Unreachable(`not the server (HTTP ${request.status})`));
      }
      if (request.status >= 200 && request.status < 300) resolve(body);
      else reject(new Problem(request.status, body));
    };
    request.send(file);
  });
}

const isZip = (file) => file.type === "application/zip" || /\.zip$/i.test(file.name);

function Progress({ fraction }) {
  const sent = fraction >= 1;
  return html`<div class="upload-progress">
    <label for="upload-bar">${sent ? t("import.checking") : t("import.sending", { percent: Math.round(fraction * 100) })}</label>
    ${sent
      ? html`<progress id="upload-bar"></progress>`
      : html`<progress id="upload-bar" max="1" value=${fraction}></progress>`}
  </div>`;
}

function Programs({ id, title, programs, count }) {
  if (!count) return null;
  return html`<details class="import-list" id=${id}>
    <summary>${title} (${formatNumber(count)})</summary>
    <ul>${programs.map((p) => html`<li><a href=${href("services", p.id)} lang=${CONTENT_LANGUAGE}>${p.name}</a>
      ${p.status !== "active" ? html` <span class="muted">(${t(`hsds.${p.status.replace(" ", "_")}`)})</span>` : null}</li>`)}</ul>
    ${count > programs.length ? html`<p class="muted">${t("import.more", { count: formatNumber(count - programs.length) })}</p>` : null}
  </details>`;
}

function Report({ report }) {
  const dry = report.dry_run;
  return html`<section class="import-report" aria-labelledby="report-title">
    <h2 id="report-title" tabindex="-1" ref=${(el) => el?.focus()}>${dry ? t("import.dry_title") : t("import.done_title")}</h2>
    <dl class="import-counts">
      <div><dt>${dry ? t("import.would_add") : t("import.added")}</dt><dd>${formatNumber(report.created)}</dd></div>
      <div><dt>${dry ? t("import.would_change") : t("import.changed")}</dt><dd>${formatNumber(report.updated)}</dd></div>
      <div><dt>${dry ? t("import.would_retire") : t("import.retired")}</dt><dd>${formatNumber(report.retired_count)}</dd></div>
      <div><dt>${t("import.unchanged")}</dt><dd>${formatNumber(report.unchanged)}</dd></div>
      <div><dt>${t("import.terms")}</dt><dd>${formatNumber(report.taxonomy_terms)}</dd></div>
    </dl>
    <${Programs} id="import-added" title=${dry ? t("import.would_add") : t("import.added")} programs=${report.added} count=${report.created} />
    <${Programs} id="import-changed" title=${dry ? t("import.would_change") : t("import.changed")} programs=${report.changed} count=${report.updated} />
    <${Programs} id="import-retired" title=${dry ? t("import.would_retire") : t("import.retired")} programs=${report.retired} count=${report.retired_count} />
    ${report.warning_count
      ? html`<details class="import-list"><summary>${t("import.warnings", { count: formatNumber(report.warning_count) })}</summary>
          <${Findings} findings=${report.warnings} /></details>`
      : null}
    ${dry ? html`<p class="hint">${t("import.nothing_changed")}</p>` : null}
  </section>`;
}

/** Every error (or warning) with where it is: its JSON path, and for CSV its file, row, column. */
function Findings({ findings }) {
  const tabular = findings.some((f) => f.file);
  return html`<${TableFrame} caption=${t("import.findings")} className="findings">
    <thead><tr>
      ${tabular ? html`<th scope="col">${t("import.file")}</th><th scope="col">${t("import.row")}</th><th scope="col">${t("import.column")}</th>` : null}
      <th scope="col">${t("import.path")}</th><th scope="col">${t("import.message")}</th>
    </tr></thead>
    <tbody>${findings.map((f) => html`<tr>
      ${tabular ? html`<td>${f.file ?? ""}</td><td>${f.row ?? ""}</td><td>${f.column ?? ""}</td>` : null}
      <td><code>${f.path}</code></td><td>${f.message}</td>
    </tr>`)}</tbody>
  </${TableFrame}>`;
}

export function ImportScreen() {
  const { config, session } = useApp();
  const [file, setFile] = useState(null);
  const [progress, setProgress] = useState(null); // 0..1 while a request is under way
  const [report, setReport] = useState(null);
  const [checked, setChecked] = useState(null); // the file whose dry run found no error
  const [refusal, setRefusal] = useState(null);

  const send = async (dryRun) => {
    if (!file || progress !== null) return;
    setProgress(0);
    setRefusal(null);
    setReport(null);
    try {
      const url = `${config.directory_url}/import${dryRun ? "?dry_run=true" : ""}`;
      const answer = await upload(url, { token: session.token, file, onProgress: setProgress });
      setReport(answer);
      setChecked(dryRun ? file : null);
      announce(dryRun ? t("import.dry_done", { count: answer.services }) : t("import.import_done", { count: answer.services }));
    } catch (e) {
      setRefusal(e);
      setChecked(null);
      announce(t("import.refused"));
    } finally {
      setProgress(null);
    }
  };
  const choose = (event) => {
    setFile(event.currentTarget.files?.[0] ?? null);
    setReport(null);
    setRefusal(null);
    setChecked(null);
  };
  const errors = refusal instanceof Problem ? refusal.problem.errors ?? [] : [];
  return html`<section class="admin-import">
    <${ScreenTitle}>${t("import.title")}</${ScreenTitle}>
    <p class="hint">${t("import.intro")}</p>
    <div class="field">
      <label for="import-file">${t("import.file_label")}</label>
      <p class="hint" id="import-file-hint">${t("import.file_hint")}</p>
      <input id="import-file" type="file" accept=".json,.zip,application/json,application/zip"
        aria-describedby="import-file-hint" onChange=${choose} disabled=${progress !== null} />
    </div>
    ${file ? html`<p>${t("import.chosen", { name: file.name, size: formatNumber(file.size / 1024, 1) })}</p>` : null}
    <div class="actions">
      <button class="primary" type="button" disabled=${!file || progress !== null} onClick=${() => send(true)}>${t("import.dry_run")}</button>
      <button type="button" disabled=${checked !== file || !file || progress !== null} onClick=${() => send(false)}>${t("import.commit")}</button>
    </div>
    ${file && checked !== file && !refusal ? html`<p class="hint">${t("import.commit_after_dry_run")}</p>` : null}
    ${progress !== null ? html`<${Progress} fraction=${progress} />` : null}
    ${refusal
      ? html`<${Notice} kind="error"><p>${problemText(refusal).split(" — ")[0]}</p>
          ${errors.length ? html`<p>${t("import.errors", { count: formatNumber(refusal.problem.error_count ?? errors.length) })}</p>` : null}</${Notice}>
          ${errors.length ? html`<${Findings} findings=${errors} />` : null}`
      : null}
    ${report ? html`<${Report} report=${report} />` : null}
    <section aria-labelledby="export-title" class="admin-export">
      <h2 id="export-title">${t("import.export_title")}</h2>
      <p class="hint">${t("import.export_hint")}</p>
      <div class="actions">
        <a class="button" href=${`${config.directory_url}/export`} download="bridges-directory.json">${t("import.export_json")}</a>
        <a class="button" href=${`${config.directory_url}/export?format=tabular`} download="bridges-directory-hsds.zip">${t("import.export_tabular")}</a>
      </div>
    </section>
  </section>`;
}
