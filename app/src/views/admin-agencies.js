// Admins and the agencies Bridges tells about referrals: each agency's webhook endpoints (added,
// with the signing secret shown once; paused and resumed; the secret rotated, the new one shown
// once while the old keeps signing for a day; a test event sent and its delivery followed) and
// its email recipients (added, turned off, removed). Every change is recorded as the admin's
// action by the notifications service.
import { useEffect, useState } from "preact/hooks";
import { call, withQuery } from "../api.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { LANGUAGES, formatDateTime, formatNumber, t } from "../i18n.js";
import { href } from "../router.js";
import { Field, Notice, ScreenTitle, announce, html, problemText, useApp } from "../ui.js";
import { ConfirmButton, ListSearch, Table } from "./admin-common.js";
import { fieldErrors } from "./admin-fields.js";

const FINAL = new Set(["succeeded", "dead"]);
const FOLLOW_MS = 1_000;
const FOLLOW_FOR_MS = 60_000;

function useAgencies(search = "") {
  const { config, session } = useApp();
  const [agencies, setAgencies] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    call(withQuery(config.directory_url, "/agencies", { search: search || undefined }), { token: session.token }).then(
      ({ data }) => setAgencies(data),
      setError,
    );
  }, [search]);
  return { agencies, error };
}

export function AgenciesScreen() {
  const [search, setSearch] = useState("");
  const { agencies, error } = useAgencies(search);
  return html`<section class="admin-list">
    <${ScreenTitle}>${t("agencies.title")}</${ScreenTitle}>
    <p class="hint">${t("agencies.intro")}</p>
    <${ListSearch} id="agency-q" label=${t("agencies.search")} value=${search} onSearch=${setSearch} />
    ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
    ${agencies === null && !error ? html`<p>${t("common.loading")}</p>` : null}
    ${agencies?.length === 0 ? html`<p class="muted">${t("admin.none_found")}</p>` : null}
    ${agencies?.length
      ? html`<${Table} caption=${t("agencies.title")} items=${agencies} linkOf=${(a) => href("agencies", a.agency_id)}
          columns=${[
            [t("admin.name"), (a) => html`<span lang=${CONTENT_LANGUAGE}>${a.name}</span>`],
            [t("agencies.programs"), (a) => formatNumber(a.programs)],
            [t("agencies.active_programs"), (a) => formatNumber(a.active_programs)],
          ]} />`
      : null}
  </section>`;
}

/** An endpoint's state, as ops' screens name it (what stops its deliveries first). */
export function endpointState(endpoint, now = Date.now()) {
  if (!endpoint.enabled) return "disabled";
  if (endpoint.paused) return "paused";
  if (endpoint.circuit_open_until && Date.parse(endpoint.circuit_open_until) > now) return "resting";
  return "active";
}

export function EndpointState({ endpoint }) {
  const state = endpointState(endpoint);
  const kind = { active: "ok", resting: "bad", paused: "warn", disabled: "muted" }[state];
  return html`<span class=${`badge badge-${kind}`}>${state === "resting" ? "⚠ " : ""}${t(`endpoint.${state}`)}</span>`;
}

/** A secret shown once, with a way to copy it: it is never shown again. */
function Secret({ secret, onDone }) {
  const [copied, setCopied] = useState(false);
  return html`<div class="notice notice-warn secret" role="group" aria-labelledby="secret-title">
    <p id="secret-title" tabindex="-1" ref=${(el) => el?.focus()}><strong>${t("endpoint.secret_once")}</strong></p>
    <p><code class="secret-value">${secret}</code></p>
    <div class="actions">
      <button type="button" onClick=${async () => { await navigator.clipboard?.writeText(secret); setCopied(true); announce(t("endpoint.copied")); }}>
        ${copied ? t("endpoint.copied") : t("endpoint.copy")}</button>
      <button type="button" class="primary" onClick=${onDone}>${t("endpoint.stored")}</button>
    </div>
  </div>`;
}

/** A delivery followed until it ends (the admin's test): status, attempts, last error. */
function Followed({ delivery }) {
  const { config, session } = useApp();
  const [now, setNow] = useState(delivery);
  useEffect(() => {
    if (FINAL.has(delivery.status)) return undefined;
    const until = Date.now() + FOLLOW_FOR_MS;
    const timer = setInterval(async () => {
      const { data } = await call(`${config.notifications_url}/deliveries/${delivery.id}`, { token: session.token });
      setNow(data);
      if (FINAL.has(data.status) || Date.now() > until) {
        clearInterval(timer);
        announce(t(`delivery.said_${data.status}`));
      }
    }, FOLLOW_MS);
    return () => clearInterval(timer);
  }, [delivery.id]);
  const last = now.attempt_log?.at(-1);
  return html`<p class="test-delivery">
    <strong>${t("endpoint.test_result")}</strong>
    <span class=${`badge delivery-${now.status}`}>${t(`delivery.${now.status}`)}</span>
    ${last ? html` ${t("delivery.answered", { code: last.status_code ?? "—", ms: last.latency_ms })}` : null}
    ${now.last_error ? html` <span class="muted">${now.last_error}</span>` : null}
  </p>`;
}

function EndpointRow({ endpoint, agencyId, onChanged }) {
  const { config, session } = useApp();
  const [secret, setSecret] = useState(null);
  const [test, setTest] = useState(null);
  const [error, setError] = useState(null);
  const act = async (path, body, then) => {
    try {
      const { data } = await call(`${config.notifications_url}${path}`, { method: "POST", token: session.token, body });
      setError(null);
      then?.(data);
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const base = `/agencies/${agencyId}/endpoints/${endpoint.id}`;
  const state = endpointState(endpoint);
  return html`<li class="card endpoint" data-endpoint-id=${endpoint.id}>
    <div class="card-head"><h3 class="endpoint-url">${endpoint.url}</h3><${EndpointState} endpoint=${endpoint} /></div>
    ${endpoint.description ? html`<p>${endpoint.description}</p>` : null}
    <p class="muted">
      ${endpoint.consecutive_failures ? t("endpoint.failures", { count: endpoint.consecutive_failures }) : t("endpoint.no_failures")}
      ${endpoint.previous_secret_until && Date.parse(endpoint.previous_secret_until) > Date.now()
        ? ` · ${t("endpoint.overlap", { at: formatDateTime(endpoint.previous_secret_until) })}`
        : ""}
    </p>
    ${secret ? html`<${Secret} secret=${secret} onDone=${() => setSecret(null)} />` : null}
    ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
    ${test ? html`<${Followed} delivery=${test} />` : null}
    <div class="actions">
      <button type="button" disabled=${state === "paused" || state === "disabled"}
        onClick=${() => act(`${base}/test`, undefined, (delivery) => { setTest(delivery); announce(t("endpoint.test_sent")); })}>${t("endpoint.test")}</button>
      ${endpoint.paused
        ? html`<button type="button" onClick=${() => act(`/endpoints/${endpoint.id}/resume`, undefined, () => announce(t("endpoint.resumed")))}>${t("endpoint.resume")}</button>`
        : html`<button type="button" onClick=${() => act(`/endpoints/${endpoint.id}/pause`, undefined, () => announce(t("endpoint.paused_now")))}>${t("endpoint.pause")}</button>`}
      <${ConfirmButton} label=${t("endpoint.rotate")} question=${t("endpoint.rotate_question")}
        onConfirm=${() => act(`${base}/rotate-secret`, { overlap_hours: 24 }, (rotated) => setSecret(rotated.secret))} />
    </div>
  </li>`;
}

function AddEndpoint({ agencyId, onAdded }) {
  const { config, session } = useApp();
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [refusal, setRefusal] = useState(null);
  const [secret, setSecret] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    try {
      const { data } = await call(`${config.notifications_url}/agencies/${agencyId}/endpoints`, {
        method: "POST",
        token: session.token,
        body: { url: url.trim(), description: description.trim() || null },
      });
      setRefusal(null);
      setUrl("");
      setDescription("");
      setSecret(data.secret);
      onAdded();
    } catch (e) {
      setRefusal(e);
    }
  };
  const errors = refusal?.problem ? fieldErrors(refusal.problem, ["url", "description"]).byField : {};
  return html`<form class="admin-form add-endpoint" onSubmit=${submit}>
    <h3>${t("endpoint.add_title")}</h3>
    ${secret ? html`<${Secret} secret=${secret} onDone=${() => setSecret(null)} />` : null}
    <${Field} id="endpoint-url" label=${t("endpoint.url")} hint=${t("endpoint.url_hint")} error=${errors.url ?? (refusal && !errors.description ? problemText(refusal) : null)}>
      <input id="endpoint-url" type="url" required maxlength="2000" value=${url} onInput=${(e) => setUrl(e.currentTarget.value)} />
    </${Field}>
    <${Field} id="endpoint-description" label=${t("endpoint.description")} error=${errors.description}>
      <input id="endpoint-description" maxlength="200" value=${description} onInput=${(e) => setDescription(e.currentTarget.value)} />
    </${Field}>
    <button class="primary" type="submit">${t("endpoint.add")}</button>
  </form>`;
}

function Recipients({ agencyId }) {
  const { config, session } = useApp();
  const [recipients, setRecipients] = useState(null);
  const [address, setAddress] = useState("");
  const [language, setLanguage] = useState("en");
  const [refusal, setRefusal] = useState(null);
  const base = `${config.notifications_url}/agencies/${agencyId}/email-recipients`;
  const load = () => call(base, { token: session.token }).then(({ data }) => setRecipients(data), setRefusal);
  useEffect(() => {
    load();
  }, [agencyId]);
  const put = async (body, done) => {
    try {
      await call(base, { method: "POST", token: session.token, body });
      setRefusal(null);
      done?.();
      await load();
    } catch (e) {
      setRefusal(e);
    }
  };
  const remove = async (recipient) => {
    try {
      await call(`${base}/${recipient.id}`, { method: "DELETE", token: session.token });
      announce(t("recipient.removed"));
      await load();
    } catch (e) {
      setRefusal(e);
    }
  };
  const errors = refusal?.problem ? fieldErrors(refusal.problem, ["address"]).byField : {};
  return html`<section aria-labelledby="recipients-title">
    <h2 id="recipients-title">${t("recipient.title")}</h2>
    <p class="hint">${t("recipient.intro")}</p>
    ${recipients?.length === 0 ? html`<p class="muted">${t("recipient.none")}</p>` : null}
    <ul class="plain recipients">
      ${(recipients ?? []).map(
        (r) => html`<li class="row between">
          <span><strong>${r.address}</strong> · ${LANGUAGES.find((l) => l.code === r.language)?.name ?? r.language}
            ${r.enabled ? "" : html` · <span class="badge badge-muted">${t("recipient.off")}</span>`}</span>
          <span class="actions">
            <button type="button" onClick=${() => put({ address: r.address, language: r.language, enabled: !r.enabled })}>
              ${r.enabled ? t("recipient.turn_off") : t("recipient.turn_on")}</button>
            <${ConfirmButton} label=${t("admin.remove")} question=${t("recipient.remove_question", { address: r.address })} onConfirm=${() => remove(r)} />
          </span>
        </li>`,
      )}
    </ul>
    <form class="admin-form row" onSubmit=${(e) => { e.preventDefault(); put({ address: address.trim(), language }, () => setAddress("")); }}>
      <${Field} id="recipient-address" label=${t("recipient.address")} error=${errors.address ?? (refusal && !errors.address ? problemText(refusal) : null)}>
        <input id="recipient-address" type="email" required maxlength="320" value=${address} onInput=${(e) => setAddress(e.currentTarget.value)} />
      </${Field}>
      <div class="field">
        <label for="recipient-language">${t("recipient.language")}</label>
        <select id="recipient-language" value=${language} onChange=${(e) => setLanguage(e.currentTarget.value)}>
          ${LANGUAGES.map((l) => html`<option value=${l.code} lang=${l.code}>${l.name}</option>`)}
        </select>
      </div>
      <button class="primary" type="submit">${t("recipient.add")}</button>
    </form>
  </section>`;
}

export function AgencyScreen({ id }) {
  const { config, session } = useApp();
  const { agencies } = useAgencies();
  const [endpoints, setEndpoints] = useState(null);
  const [error, setError] = useState(null);
  const load = () =>
    call(`${config.notifications_url}/agencies/${id}/endpoints`, { token: session.token }).then(
      ({ data }) => setEndpoints(data),
      setError,
    );
  useEffect(() => {
    load();
  }, [id]);
  const agency = agencies?.find((a) => a.agency_id === id);
  return html`<article class="admin-item agency">
    <p><a href=${href("agencies")}>← ${t("agencies.title")}</a></p>
    <${ScreenTitle}><span lang=${CONTENT_LANGUAGE}>${agency?.name ?? id}</span></${ScreenTitle}>
    <section aria-labelledby="endpoints-title">
      <h2 id="endpoints-title">${t("endpoint.title")}</h2>
      <p class="hint">${t("endpoint.intro")}</p>
      ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
      ${endpoints?.length === 0 ? html`<p class="muted">${t("endpoint.none")}</p>` : null}
      <ul class="cards endpoints">${(endpoints ?? []).map((e) => html`<${EndpointRow} key=${e.id} endpoint=${e} agencyId=${id} onChanged=${load} />`)}</ul>
      <${AddEndpoint} agencyId=${id} onAdded=${load} />
    </section>
    <${Recipients} agencyId=${id} />
  </article>`;
}
