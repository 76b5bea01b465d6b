// Ops and the agencies' endpoints: every endpoint, the most failing first, by state (resting:
// failing, its breaker open; paused; disabled), paused and resumed, its dead deliveries sent
// again once it answers; and what operators and admins did, across the three services, newest
// first (every replay, pause and change is recorded with who did it).
import { useEffect, useState } from "preact/hooks";
import { call, withQuery } from "../api.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { formatDateTime, formatNumber, t, tOr } from "../i18n.js";
import { Notice, ScreenTitle, TableFrame, announce, html, problemText, useApp } from "../ui.js";
import { EndpointState, endpointState } from "./admin-agencies.js";
import { useAgencyNames } from "./ops-failures.js";
import { SERVICES } from "./ops-flow.js";

const STATES = ["", "resting", "paused", "disabled", "active"];

export function EndpointsScreen() {
  const { config, session } = useApp();
  const names = useAgencyNames();
  const [state, setState] = useState("");
  const [endpoints, setEndpoints] = useState(null);
  const [said, setSaid] = useState(null);
  const load = () =>
    call(withQuery(config.notifications_url, "/endpoints", { state: state || undefined, limit: 500 }), { token: session.token }).then(
      ({ data }) => setEndpoints(data),
      (e) => setSaid({ kind: "error", text: problemText(e) }),
    );
  useEffect(() => {
    load();
  }, [state]);
  const act = async (path, text) => {
    try {
      const { data } = await call(`${config.notifications_url}${path}`, { method: "POST", token: session.token });
      const message = text(data);
      setSaid({ kind: "info", text: message });
      announce(message);
    } catch (e) {
      setSaid({ kind: "error", text: problemText(e) });
    }
    await load();
  };
  return html`<section class="ops-endpoints">
    <${ScreenTitle}>${t("endpoints.title")}</${ScreenTitle}>
    <p class="hint">${t("endpoints.intro")}</p>
    <div class="field inline-select">
      <label for="endpoint-state">${t("endpoints.state")}</label>
      <select id="endpoint-state" class="auto" value=${state} onChange=${(e) => setState(e.currentTarget.value)}>
        ${STATES.map((s) => html`<option value=${s}>${s ? t(`endpoint.${s}`) : t("endpoints.all")}</option>`)}
      </select>
    </div>
    ${said ? html`<${Notice} kind=${said.kind}>${said.text}</${Notice}>` : null}
    ${endpoints?.length === 0 ? html`<p class="muted">${t("endpoints.none")}</p>` : null}
    ${endpoints?.length
      ? html`<${TableFrame} caption=${t("endpoints.title")} className="ops-table">
          <thead><tr><th scope="col">${t("failures.agency")}</th><th scope="col">${t("endpoint.url")}</th>
            <th scope="col">${t("endpoints.state")}</th><th scope="col">${t("endpoints.failures")}</th>
            <th scope="col">${t("endpoints.rests_until")}</th><th scope="col"><span class="visually-hidden">${t("failures.actions")}</span></th></tr></thead>
          <tbody>${endpoints.map(
            (e) => html`<tr data-endpoint-id=${e.id}>
              <th scope="row" lang=${CONTENT_LANGUAGE}>${names[e.agency_id] ?? e.agency_id}</th>
              <td class="target">${e.url}</td>
              <td><${EndpointState} endpoint=${e} /></td>
              <td>${formatNumber(e.consecutive_failures)}</td>
              <td>${endpointState(e) === "resting" ? formatDateTime(e.circuit_open_until) : "—"}</td>
              <td class="actions">
                ${e.paused
                  ? html`<button type="button" onClick=${() => act(`/endpoints/${e.id}/resume`, () => t("endpoint.resumed"))}>${t("endpoint.resume")}</button>`
                  : html`<button type="button" onClick=${() => act(`/endpoints/${e.id}/pause`, () => t("endpoint.paused_now"))}>${t("endpoint.pause")}</button>`}
                <button type="button" onClick=${() => act(`/endpoints/${e.id}/replay-dead-letters`, (r) => t("failures.replayed_all", { count: r.replayed }))}>
                  ${t("endpoints.replay_dead")}</button>
              </td>
            </tr>`,
          )}</tbody>
        </${TableFrame}>`
      : null}
  </section>`;
}

export function ActionsScreen() {
  const { config, session } = useApp();
  const [actions, setActions] = useState(null);
  const [silent, setSilent] = useState([]);
  useEffect(() => {
    Promise.all(
      SERVICES.map((service) =>
        call(withQuery(config[`${service}_url`], "/ops/actions", { limit: 100 }), { token: session.token }).then(
          ({ data }) => data.map((a) => ({ ...a, service })),
          () => null,
        ),
      ),
    ).then((lists) => {
      setSilent(SERVICES.filter((_, i) => lists[i] === null));
      setActions(lists.flatMap((l) => l ?? []).sort((a, b) => Date.parse(b.at) - Date.parse(a.at)));
    });
  }, []);
  return html`<section class="ops-actions">
    <${ScreenTitle}>${t("actions.title")}</${ScreenTitle}>
    <p class="hint">${t("actions.intro")}</p>
    ${silent.length ? html`<${Notice} kind="error">${t("flow.silent", { services: silent.join(", ") })}</${Notice}>` : null}
    ${actions === null ? html`<p>${t("common.loading")}</p>` : null}
    ${actions?.length === 0 ? html`<p class="muted">${t("actions.none")}</p>` : null}
    ${actions?.length
      ? html`<${TableFrame} caption=${t("actions.title")} className="ops-table">
          <thead><tr><th scope="col">${t("failures.when")}</th><th scope="col">${t("actions.who")}</th><th scope="col">${t("actions.what")}</th>
            <th scope="col">${t("actions.target")}</th><th scope="col">${t("actions.outcome")}</th><th scope="col">${t("failures.service")}</th></tr></thead>
          <tbody>${actions.map(
            (a) => html`<tr>
              <th scope="row">${formatDateTime(a.at)}</th>
              <td>${a.name ?? a.actor} <span class="muted">(${t(`role.${a.role}`)})</span></td>
              <td>${tOr(`action_name.${a.action.replace(".", "_")}`, a.action)}${a.detail?.count !== undefined ? ` (${formatNumber(a.detail.count)})` : ""}</td>
              <td><code>${a.target}</code></td>
              <td><span class=${`badge ${a.outcome === "done" ? "badge-ok" : "badge-bad"}`}>${t(`actions.outcome_${a.outcome}`)}</span>
                ${a.detail?.error ? html` <span class="muted">${a.detail.error}</span>` : null}</td>
              <td>${a.service}</td>
            </tr>`,
          )}</tbody>
        </${TableFrame}>`
      : null}
  </section>`;
}
