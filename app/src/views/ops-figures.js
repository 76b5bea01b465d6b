// The flow at a glance, figure by figure, from the services' summaries (pure). Each figure of the
// table (ops-figures.json) names the Prometheus metric behind it and the alert rules watching
// it with their threshold, so the screen and the alerts read the same numbers
// (tests/test_ops_figures.py holds the table to deploy/observability/alerts.yml).

const matches = (labels, wanted = {}) => Object.entries(wanted).every(([k, v]) => labels[k] === v);

/** Ages are the oldest of them; counts add up. */
const combine = (figure, values) =>
  figure.unit === "seconds" ? Math.max(...values) : values.reduce((sum, v) => sum + v, 0);

/**
 * `summaries`: service -> its `GET /ops/summary` answer, or null when it did not answer.
 * Returns each figure with `value` (null: no service keeping it answered), `parts` (by the
 * figure's `by` label, or by service), `over` (a value above the alert's threshold) and
 * `missing` (the services that did not answer).
 */
export function figuresOf(table, summaries) {
  return table.map((figure) => {
    const missing = figure.services.filter((service) => !summaries[service]);
    const found = figure.services.flatMap((service) =>
      (summaries[service]?.samples ?? [])
        .filter((s) => s.metric === figure.metric && matches(s.labels, figure.labels))
        .map((s) => ({ service, labels: s.labels, value: s.value })),
    );
    let parts = null;
    if (figure.by) {
      const grouped = new Map();
      for (const one of found) {
        const name = figure.by === "service" ? one.service : one.labels[figure.by];
        grouped.set(name, [...(grouped.get(name) ?? []), one.value]);
      }
      parts = [...grouped].map(([name, values]) => ({ name, value: combine(figure, values) }));
    }
    const value = found.length ? combine(figure, found.map((f) => f.value)) : null;
    const over = figure.above !== undefined && (parts ?? [{ value }]).some((p) => p.value !== null && p.value > figure.above);
    return { ...figure, value, parts, over, missing };
  });
}

/** The link to a figure's query in Prometheus (none when the deployment names no Prometheus). */
export function prometheusLink(base, promql) {
  if (!base) return null;
  return `${base.replace(/\/$/, "")}/graph?g0.expr=${encodeURIComponent(promql)}&g0.tab=0`;
}
