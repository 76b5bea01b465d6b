// Ops' first screen: the referral flow at a glance — referrals filed in the last hour and day and
// those overdue, events waiting in each outbox and behind each consumer, parked events,
// deliveries by outcome, endpoints resting — refreshed every 15 s from each service's summary.
// Every figure names its Prometheus metric (linked to Prometheus where the deployment has one)
// and the alert that watches it; a figure past its alert's threshold is marked in words.
import { useEffect, useState } from "preact/hooks";
import { call } from "../api.js";
import { formatDateTime, formatDuration, formatNumber, t } from "../i18n.js";
import { href } from "../router.js";
import { Notice, ScreenTitle, html, useApp } from "../ui.js";
import TABLE from "./ops-figures.json";
import { figuresOf, prometheusLink } from "./ops-figures.js";

export const SERVICES = ["directory", "referrals", "notifications"];
const REFRESH_MS = 15_000;
const GROUPS = ["referrals", "deliveries", "events"];

/** Each service's summary, refreshed (null for a service that did not answer). */
function useSummaries() {
  const { config, session } = useApp();
  const [summaries, setSummaries] = useState(null);
  const [at, setAt] = useState(null);
  const refresh = async () => {
    const answers = await Promise.all(
      SERVICES.map((service) =>
        call(`${config[`${service}_url`]}/ops/summary`, { token: session.token }).then(
          ({ data }) => data,
          () => null,
        ),
      ),
    );
    setSummaries(Object.fromEntries(SERVICES.map((service, i) => [service, answers[i]])));
    setAt(Date.now());
  };
  useEffect(() => {
    refresh();
    const timer = setInterval(() => document.visibilityState === "visible" && refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [session.token]);
  return { summaries, at, refresh };
}

const shown = (figure, value) =>
  value === null ? "—" : figure.unit === "seconds" ? (value < 60 ? t("flow.seconds", { count: formatNumber(value) }) : formatDuration(value * 1000)) : formatNumber(value);

function Figure({ figure }) {
  const { config } = useApp();
  const link = prometheusLink(config.prometheus_url, figure.promql);
  const labels = Object.entries(figure.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join(",");
  const metric = `${figure.metric}${labels ? `{${labels}}` : ""}`;
  const partName = (name) => (figure.by === "outcome" ? t(`flow.outcome_${name}`) : name);
  return html`<li class=${`figure${figure.over ? " over" : ""}`} data-figure=${figure.key}>
    <h3>${t(`flow.${figure.key}`)}</h3>
    <p class="figure-value">${shown(figure, figure.value)}</p>
    ${figure.over
      ? html`<p class="figure-alert">⚠ ${t(figure.alerts?.length ? "flow.over" : "flow.attention_above", { above: shown(figure, figure.above) })}</p>`
      : null}
    ${figure.parts?.length
      ? html`<ul class="figure-parts">${figure.parts.map((p) => html`<li><span>${partName(p.name)}</span> <strong>${shown(figure, p.value)}</strong></li>`)}</ul>`
      : null}
    ${figure.missing.length ? html`<p class="muted">${t("flow.missing", { services: figure.missing.join(", ") })}</p>` : null}
    <p class="figure-metric">
      ${t("flow.metric")} ${link ? html`<a href=${link} target="_blank" rel="noopener"><code>${metric}</code></a>` : html`<code>${metric}</code>`}
    </p>
    ${figure.alerts?.length ? html`<p class="figure-metric">${t("flow.alert")} ${figure.alerts.map((a) => html`<code>${a}</code> `)}</p>` : null}
    ${figure.link ? html`<p><a href=${href(figure.link)}>${t(`flow.open_${figure.link}`)} →</a></p>` : null}
  </li>`;
}

export function FlowScreen() {
  const { summaries, at, refresh } = useSummaries();
  const figures = summaries ? figuresOf(TABLE, summaries) : [];
  const silent = summaries ? SERVICES.filter((s) => !summaries[s]) : [];
  const attention = figures.filter((f) => f.over);
  return html`<section class="ops-flow">
    <div class="row between">
      <${ScreenTitle}>${t("flow.title")}</${ScreenTitle}>
      <p class="muted flow-at">
        <span>${at ? t("flow.sampled", { at: formatDateTime(at) }) : t("common.loading")}</span>
        <button type="button" class="link" onClick=${refresh}>${t("flow.refresh")}</button>
      </p>
    </div>
    ${silent.length ? html`<${Notice} kind="error">${t("flow.silent", { services: silent.join(", ") })}</${Notice}>` : null}
    ${summaries
      ? html`<p class=${attention.length ? "flow-attention" : "flow-calm"} role="note">
          ${attention.length ? `⚠ ${t("flow.attention", { count: attention.length })}` : `✓ ${t("flow.calm")}`}</p>`
      : null}
    ${GROUPS.map(
      (group) => html`<section aria-labelledby=${`flow-${group}`}>
        <h2 id=${`flow-${group}`}>${t(`flow.group_${group}`)}</h2>
        <ul class="figures">${figures.filter((f) => f.group === group).map((f) => html`<${Figure} figure=${f} />`)}</ul>
      </section>`,
    )}
    <p class="hint">${t("flow.about")}</p>
  </section>`;
}
