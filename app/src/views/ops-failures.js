// What failed, for ops to fix and send again: deliveries that gave up (dead letters of the
// notifications service), deliveries still being retried, and events a consumer parked. Each can
// be inspected — ids, event types, attempts, receivers' answers; never a family's data, which no
// ops answer holds — and replayed one by one, or all at once after a fix. The endpoint a failed
// delivery went to can be paused or resumed from it. Every action is recorded as the operator's.
import { useEffect, useState } from "preact/hooks";
import { call, withQuery } from "../api.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { formatDateTime, formatNumber, t } from "../i18n.js";
import { href, navigate } from "../router.js";
import { Notice, ScreenTitle, TableFrame, announce, html, problemText, useApp } from "../ui.js";
import { ConfirmButton } from "./admin-common.js";
import { EndpointState } from "./admin-agencies.js";

const VIEWS = ["dead", "retrying", "parked"];
const PARKING = ["referrals", "notifications"]; // the services whose consumers park events
const EVENT_PREFIX = "event-";

/** The agencies' names by id (the directory's list), to say whose delivery failed. */
export function useAgencyNames() {
  const { config, session } = useApp();
  const [names, setNames] = useState({});
  useEffect(() => {
    call(`${config.directory_url}/agencies`, { token: session.token }).then(
      ({ data }) => setNames(Object.fromEntries(data.map((a) => [a.agency_id, a.name]))),
      () => setNames({}),
    );
  }, []);
  return names;
}

function useFailures(view, version) {
  const { config, session } = useApp();
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setItems(null);
    setError(null);
    const read = (url) => call(url, { token: session.token }).then(({ data }) => data);
    let asked;
    if (view === "parked") {
      asked = Promise.all(
        PARKING.map((service) =>
          read(withQuery(config[`${service}_url`], "/events/dead-letters", { replayed: false })).then((letters) =>
            letters.map((letter) => ({ ...letter, service })),
          ),
        ),
      ).then((lists) => lists.flat().sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at)));
    } else {
      const status = view === "dead" ? "dead" : "pending";
      asked = read(withQuery(config.notifications_url, "/deliveries", { status, limit: 200 })).then((all) =>
        view === "retrying" ? all.filter((d) => d.attempts > 0) : all,
      );
    }
    asked.then(setItems, setError);
  }, [view, version]);
  return { items, error };
}

function DeliveryRows({ items, names, onReplay }) {
  return html`<${TableFrame} caption=${t("failures.deliveries")} className="ops-table">
    <thead><tr>
      <th scope="col">${t("failures.when")}</th><th scope="col">${t("failures.event")}</th><th scope="col">${t("failures.agency")}</th>
      <th scope="col">${t("failures.target")}</th><th scope="col">${t("failures.attempts")}</th><th scope="col">${t("failures.last_error")}</th>
      <th scope="col"><span class="visually-hidden">${t("failures.actions")}</span></th>
    </tr></thead>
    <tbody>${items.map(
      (d) => html`<tr data-delivery-id=${d.id}>
        <th scope="row"><a href=${href("failures", d.id)}>${formatDateTime(d.finished_at ?? d.created_at)}</a></th>
        <td><code>${shortType(d.event_type)}</code></td>
        <td lang=${CONTENT_LANGUAGE}>${names[d.agency_id] ?? d.agency_id}</td>
        <td class="target">${d.channel === "email" ? t("failures.email") : d.target}</td>
        <td>${formatNumber(d.attempts)}</td>
        <td class="error-text">${d.last_error ?? ""}</td>
        <td><button type="button" onClick=${() => onReplay(d)}>${t("failures.replay")}</button></td>
      </tr>`,
    )}</tbody>
  </${TableFrame}>`;
}

function ParkedRows({ items, onReplay }) {
  return html`<${TableFrame} caption=${t("failures.parked")} className="ops-table">
    <thead><tr>
      <th scope="col">${t("failures.when")}</th><th scope="col">${t("failures.service")}</th><th scope="col">${t("failures.consumer")}</th>
      <th scope="col">${t("failures.subject")}</th><th scope="col">${t("failures.deliveries_count")}</th><th scope="col">${t("failures.reason")}</th>
      <th scope="col"><span class="visually-hidden">${t("failures.actions")}</span></th>
    </tr></thead>
    <tbody>${items.map(
      (letter) => html`<tr>
        <th scope="row"><a href=${href("failures", `${EVENT_PREFIX}${letter.service}-${letter.id}`)}>${formatDateTime(letter.created_at)}</a></th>
        <td>${letter.service}</td><td><code>${letter.consumer}</code></td><td><code>${letter.subject}</code></td>
        <td>${formatNumber(letter.deliveries)}</td><td class="error-text">${letter.error}</td>
        <td><button type="button" onClick=${() => onReplay(letter)}>${t("failures.replay")}</button></td>
      </tr>`,
    )}</tbody>
  </${TableFrame}>`;
}

const shortType = (type) => type.replace(/^org\.bridges\./, "");

export function FailuresScreen() {
  const { config, session } = useApp();
  const [view, setView] = useState("dead");
  const [version, setVersion] = useState(0);
  const [said, setSaid] = useState(null);
  const names = useAgencyNames();
  const { items, error } = useFailures(view, version);
  const post = async (url, text) => {
    try {
      const { data } = await call(url, { method: "POST", token: session.token });
      const message = text(data);
      setSaid({ kind: "info", text: message });
      announce(message);
    } catch (e) {
      setSaid({ kind: "error", text: problemText(e) });
    }
    setVersion(version + 1);
  };
  const replayDelivery = (d) => post(`${config.notifications_url}/deliveries/${d.id}/replay`, () => t("failures.replayed_one"));
  const replayLetter = (letter) =>
    post(`${config[`${letter.service}_url`]}/events/dead-letters/${letter.id}/replay`, () => t("failures.replayed_one"));
  const replayAll = async () => {
    if (view === "parked") {
      for (const service of PARKING) {
        await post(`${config[`${service}_url`]}/events/dead-letters/replay`, (report) =>
          t("failures.replayed_parked", { service, count: report.replayed, failed: report.failed.length }),
        );
      }
    } else {
      await post(`${config.notifications_url}/dead-letters/replay`, (report) => t("failures.replayed_all", { count: report.replayed }));
    }
  };
  return html`<section class="ops-failures">
    <${ScreenTitle}>${t("failures.title")}</${ScreenTitle}>
    <p class="hint">${t("failures.intro")}</p>
    <div class="tabs" role="group" aria-label=${t("failures.views")}>
      ${VIEWS.map((name) => html`<button aria-pressed=${view === name ? "true" : "false"} onClick=${() => { setView(name); setSaid(null); }}>${t(`failures.${name}`)}</button>`)}
    </div>
    ${said ? html`<${Notice} kind=${said.kind}>${said.text}</${Notice}>` : null}
    ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
    ${items === null && !error ? html`<p>${t("common.loading")}</p>` : null}
    ${items?.length === 0 ? html`<p class="muted">${t(`failures.none_${view}`)}</p>` : null}
    ${items?.length && view !== "retrying"
      ? html`<${ConfirmButton} label=${t(view === "parked" ? "failures.replay_all_parked" : "failures.replay_all", { count: items.length })}
          question=${t("failures.replay_all_question")} confirmLabel=${t("failures.replay_all_confirm")} onConfirm=${replayAll} />`
      : null}
    ${items?.length && view === "parked" ? html`<${ParkedRows} items=${items} onReplay=${replayLetter} />` : null}
    ${items?.length && view !== "parked" ? html`<${DeliveryRows} items=${items} names=${names} onReplay=${replayDelivery} />` : null}
  </section>`;
}

/** One attempt after another, with what the receiver answered. */
function Attempts({ attempts }) {
  if (!attempts?.length) return html`<p class="muted">${t("failures.no_attempts")}</p>`;
  return html`<${TableFrame} caption=${t("failures.attempts")}>
    <thead><tr><th scope="col">${t("failures.when")}</th><th scope="col">${t("failures.status_code")}</th>
      <th scope="col">${t("failures.latency")}</th><th scope="col">${t("failures.last_error")}</th></tr></thead>
    <tbody>${attempts.map((a) => html`<tr><td>${formatDateTime(a.attempted_at)}</td><td>${a.status_code ?? "—"}</td>
      <td>${formatNumber(a.latency_ms)} ms</td><td class="error-text">${a.error ?? ""}</td></tr>`)}</tbody>
  </${TableFrame}>`;
}

function DeliveryInspected({ id }) {
  const { config, session } = useApp();
  const names = useAgencyNames();
  const [delivery, setDelivery] = useState(null);
  const [endpoint, setEndpoint] = useState(null);
  const [said, setSaid] = useState(null);
  const load = async () => {
    try {
      const { data } = await call(`${config.notifications_url}/deliveries/${id}`, { token: session.token });
      setDelivery(data);
      if (data.endpoint_id) {
        const all = await call(withQuery(config.notifications_url, "/endpoints", { limit: 500 }), { token: session.token });
        setEndpoint(all.data.find((e) => e.id === data.endpoint_id) ?? null);
      }
    } catch (e) {
      setSaid({ kind: "error", text: problemText(e) });
    }
  };
  useEffect(() => {
    load();
  }, [id]);
  const act = async (url, text) => {
    try {
      await call(url, { method: "POST", token: session.token });
      setSaid({ kind: "info", text });
      announce(text);
    } catch (e) {
      setSaid({ kind: "error", text: problemText(e) });
    }
    await load();
  };
  if (!delivery) return said ? html`<${Notice} kind="error">${said.text}</${Notice}>` : html`<p>${t("common.loading")}</p>`;
  return html`<article class="ops-inspect">
    <p><a href=${href("failures")}>← ${t("failures.title")}</a></p>
    <${ScreenTitle}>${t("failures.delivery")} <code>${shortType(delivery.event_type)}</code></${ScreenTitle}>
    <p class="row"><span class=${`badge delivery-${delivery.status}`}>${t(`delivery.${delivery.status}`)}</span>
      <button type="button" class="link" onClick=${load}>${t("flow.refresh")}</button></p>
    ${said ? html`<${Notice} kind=${said.kind}>${said.text}</${Notice}>` : null}
    <dl class="facts">
      <div><dt>${t("failures.agency")}</dt><dd lang=${CONTENT_LANGUAGE}>${names[delivery.agency_id] ?? delivery.agency_id}</dd></div>
      <div><dt>${t("failures.target")}</dt><dd class="target">${delivery.channel === "email" ? t("failures.email") : endpoint?.url ?? delivery.target}</dd></div>
      <div><dt>${t("failures.event_id")}</dt><dd><code>${delivery.event_id}</code></dd></div>
      <div><dt>${t("failures.referral_id")}</dt><dd><code>${delivery.referral_id ?? "—"}</code></dd></div>
      <div><dt>${t("failures.created")}</dt><dd>${formatDateTime(delivery.created_at)}</dd></div>
      <div><dt>${t("failures.attempts")}</dt><dd>${formatNumber(delivery.attempts)}</dd></div>
    </dl>
    <p class="hint">${t("failures.no_family_data")}</p>
    <h2>${t("failures.attempt_log")}</h2>
    <${Attempts} attempts=${delivery.attempt_log} />
    <div class="actions">
      <button type="button" class="primary" onClick=${() => act(`${config.notifications_url}/deliveries/${id}/replay`, t("failures.replayed_one"))}>${t("failures.replay")}</button>
      ${endpoint
        ? html`<span class="row"><${EndpointState} endpoint=${endpoint} />
            ${endpoint.paused
              ? html`<button type="button" onClick=${() => act(`${config.notifications_url}/endpoints/${endpoint.id}/resume`, t("endpoint.resumed"))}>${t("endpoint.resume")}</button>`
              : html`<button type="button" onClick=${() => act(`${config.notifications_url}/endpoints/${endpoint.id}/pause`, t("endpoint.paused_now"))}>${t("endpoint.pause")}</button>`}</span>`
        : null}
    </div>
  </article>`;
}

function EventInspected({ service, letterId }) {
  const { config, session } = useApp();
  const [letter, setLetter] = useState(null);
  const [said, setSaid] = useState(null);
  const base = `${config[`${service}_url`]}/events/dead-letters/${letterId}`;
  useEffect(() => {
    call(base, { token: session.token }).then(({ data }) => setLetter(data), (e) => setSaid({ kind: "error", text: problemText(e) }));
  }, [service, letterId]);
  const replay = async () => {
    try {
      const { data } = await call(`${base}/replay`, { method: "POST", token: session.token });
      setLetter(data);
      setSaid({ kind: "info", text: t("failures.replayed_one") });
      announce(t("failures.replayed_one"));
    } catch (e) {
      setSaid({ kind: "error", text: problemText(e) });
    }
  };
  if (!letter) return said ? html`<${Notice} kind="error">${said.text}</${Notice}>` : html`<p>${t("common.loading")}</p>`;
  return html`<article class="ops-inspect">
    <p><a href=${href("failures")}>← ${t("failures.title")}</a></p>
    <${ScreenTitle}>${t("failures.parked_event")} <code>${letter.subject}</code></${ScreenTitle}>
    ${said ? html`<${Notice} kind=${said.kind}>${said.text}</${Notice}>` : null}
    <dl class="facts">
      <div><dt>${t("failures.service")}</dt><dd>${service}</dd></div>
      <div><dt>${t("failures.consumer")}</dt><dd><code>${letter.consumer}</code></dd></div>
      <div><dt>${t("failures.deliveries_count")}</dt><dd>${formatNumber(letter.deliveries)}</dd></div>
      <div><dt>${t("failures.created")}</dt><dd>${formatDateTime(letter.created_at)}</dd></div>
      <div><dt>${t("failures.replayed_at")}</dt><dd>${letter.replayed_at ? formatDateTime(letter.replayed_at) : "—"}</dd></div>
    </dl>
    <h2>${t("failures.reason")}</h2>
    <pre class="error-text">${letter.error}</pre>
    <h2>${t("failures.event")}</h2>
    ${letter.event ? html`<pre class="event-json">${JSON.stringify(letter.event, null, 2)}</pre>` : html`<p class="muted">${t("failures.unreadable")}</p>`}
    <p class="hint">${t("failures.no_family_data")}</p>
    <div class="actions">
      <button type="button" class="primary" disabled=${Boolean(letter.replayed_at)} onClick=${replay}>${t("failures.replay")}</button>
      <button type="button" onClick=${() => navigate("failures")}>${t("failures.back")}</button>
    </div>
  </article>`;
}

export function FailureScreen({ id }) {
  if (id.startsWith(EVENT_PREFIX)) {
    const [service, letterId] = id.slice(EVENT_PREFIX.length).split("-");
    return html`<${EventInspected} service=${service} letterId=${letterId} />`;
  }
  return html`<${DeliveryInspected} id=${id} />`;
}
