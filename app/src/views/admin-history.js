// A program's history for admins: who changed it, how and when, newest first, from the
// directory's audit log (`GET /audit?service_id=`): agencies' own edits and intakes, their
// "still correct", admins' writes and what an organization, location or term change rewrote.
import { useEffect, useState } from "preact/hooks";
import { call, withQuery } from "../api.js";
import { formatDateTime, t, tOr } from "../i18n.js";
import { Notice, TableFrame, html, problemText, useApp } from "../ui.js";

const SHOWN = 10;
const PATHS_SHOWN = 4; // a long change names its first paths and how many more

function who(entry) {
  const role = tOr(`role.${entry.actor_role}`, entry.actor_role);
  return entry.actor_name ? `${entry.actor_name} (${role})` : role;
}

function what(entry) {
  const paths = Object.keys(entry.changes ?? {});
  if (entry.action === "imported" || !paths.length) return null;
  const more = paths.length - PATHS_SHOWN;
  return html`<span class="muted"><code>${paths.slice(0, PATHS_SHOWN).join(", ")}</code>${more > 0 ? ` ${t("history.more", { count: more })}` : null}</span>`;
}

/** The last changes of program `id`; read again when `version` (what the screen shows) moves. */
export function ProgramHistory({ id, version }) {
  const { config, session } = useApp();
  const [entries, setEntries] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let current = true;
    const url = withQuery(config.directory_url, "/audit", { service_id: id, limit: SHOWN });
    call(url, { token: session.token }).then(
      ({ data }) => current && setEntries(data.items),
      (e) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [id, version]);
  return html`<section class="admin-history" aria-labelledby="history-title">
    <h2 id="history-title">${t("history.title")}</h2>
    <p class="muted">${t("history.intro", { count: SHOWN })}</p>
    ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
    ${entries === null && !error ? html`<p>${t("common.loading")}</p>` : null}
    ${entries && !entries.length ? html`<p>${t("history.none")}</p>` : null}
    ${entries?.length
      ? html`<${TableFrame} caption=${t("history.title")}>
          <thead><tr>
            <th scope="col">${t("history.when")}</th><th scope="col">${t("history.what")}</th>
            <th scope="col">${t("history.who")}</th><th scope="col">${t("history.version")}</th>
          </tr></thead>
          <tbody>${entries.map(
            (entry) => html`<tr>
              <th scope="row">${formatDateTime(entry.at)}</th>
              <td>${tOr(`history.action.${entry.action}`, entry.action)} ${what(entry)}</td>
              <td>${who(entry)}</td>
              <td>${entry.version ?? "—"}</td>
            </tr>`,
          )}</tbody>
        </${TableFrame}>`
      : null}
  </section>`;
}
