// The results, for everyone (no sign-in): how many referrals were made and for what, how
// quickly agencies answered, how referrals ended up — the public statistics of GET /stats,
// computed once a minute for every visitor, with small counts hidden (never a count under 5,
// nor one that could be worked out). Charts drawn here with a table beside each, en/es,
// printable, the same figures as CSV.
import { useEffect, useState } from "preact/hooks";
import { call } from "../api.js";
import { formatDateTime, formatNumber, language, t, tOr } from "../i18n.js";
import { Notice, ScreenTitle, html, problemText, useApp } from "../ui.js";
import { BarChart, figure } from "./charts.js";
import { LanguageSwitch, useLanguage } from "./shell.js";

const percent = (share) => new Intl.NumberFormat(language(), { style: "percent", maximumFractionDigits: 0 }).format(share);
const hours = (h) => t("public.hours", { hours: formatNumber(h, h < 10 ? 1 : 0) });
const monthName = (month) =>
  new Intl.DateTimeFormat(language(), { month: "short", year: "numeric" }).format(new Date(`${month}-15T12:00:00Z`));

function Headline({ label, value, note }) {
  const words = !/\d/.test(value); // "too few to show": said, not shouted
  return html`<div class="headline">
    <p class=${`headline-value${words ? " words" : ""}`}>${value}</p>
    <p class="headline-label">${label}</p>
    ${note ? html`<p class="hint">${note}</p>` : null}
  </div>`;
}

export function PublicScreen() {
  const { config } = useApp();
  useLanguage(); // figures and words follow the language chosen
  const [stats, setStats] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    call(`${config.referrals_url}/stats`).then(({ data }) => setStats(data), setError);
  }, []);

  const overall = stats?.overall;
  const share = (value) => (value === null || value === undefined ? t("public.not_enough") : percent(value));
  return html`<div class="shell public">
    <header class="top public-top">
      <span class="brand">Bridges</span>
      <div class="who"><${LanguageSwitch} /></div>
    </header>
    <main id="main" tabindex="-1">
      <${ScreenTitle}>${t("public.title")}</${ScreenTitle}>
      <p class="lead">${t("public.intro")}</p>
      ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
      ${!stats && !error ? html`<p>${t("common.loading")}</p>` : null}
      ${stats
        ? html`<p class="hint">${t("public.as_of", { at: formatDateTime(stats.generated_at) })}</p>
          <div class="row public-actions">
            <a class="button" href=${`${config.referrals_url}/stats.csv`} download="bridges-stats.csv">${t("public.csv")}</a>
            <button type="button" onClick=${() => window.print()}>${t("public.print")}</button>
          </div>
          <section aria-labelledby="headlines" class="headlines-section">
            <h2 id="headlines" class="visually-hidden">${t("public.headlines")}</h2>
            <div class="headlines">
              <${Headline} label=${t("public.referrals")} value=${figure(overall.referrals)} />
              <${Headline} label=${t("public.in_time")} value=${share(overall.answered_in_time_share)} note=${t("public.in_time_note")} />
              <${Headline} label=${t("public.closed_loop")} value=${share(overall.closed_loop_share)} note=${t("public.closed_loop_note")} />
              <${Headline} label=${t("public.completed")} value=${share(overall.completed_share)} note=${t("public.completed_note")} />
            </div>
          </section>
          <section aria-labelledby="by-need-month">
            <h2 id="by-need-month">${t("public.made")}</h2>
            <div class="charts">
              <${BarChart} id="by-month" title=${t("public.by_month")} columnLabel=${[t("public.month"), t("public.referrals")]}
                rows=${stats.by_month.map((r) => ({ label: monthName(r.month), value: r.referrals }))} />
              <${BarChart} id="by-need" title=${t("public.by_need")} columnLabel=${[t("public.need"), t("public.referrals")]}
                rows=${stats.by_need.map((r) => ({ label: tOr(`need.${r.need}`, r.need), value: r.referrals }))} />
            </div>
          </section>
          <section aria-labelledby="answered">
            <h2 id="answered">${t("public.answered")}</h2>
            <div class="charts">
              <${BarChart} id="by-agency" title=${t("public.by_agency")} format=${hours}
                columnLabel=${[t("public.agency"), t("public.median_first_answer")]}
                rows=${stats.by_agency.map((r) => ({ label: r.agency, value: r.median_hours_to_first_response ?? (typeof r.referrals === "number" ? null : r.referrals) }))} />
            </div>
          </section>
          <section aria-labelledby="outcomes">
            <h2 id="outcomes">${t("public.outcomes")}</h2>
            <div class="charts">
              <${BarChart} id="by-status" title=${t("public.by_status")} columnLabel=${[t("public.status"), t("public.referrals")]}
                rows=${stats.outcomes.by_status.map((r) => ({ label: t(`status.${r.status}`), value: r.referrals }))} />
              ${stats.outcomes.declined_by_reason.length
                ? html`<${BarChart} id="by-reason" title=${t("public.by_reason")} columnLabel=${[t("public.reason"), t("public.referrals")]}
                    rows=${stats.outcomes.declined_by_reason.map((r) => ({ label: tOr(`reason.${r.reason}`, r.reason), value: r.referrals }))} />`
                : null}
            </div>
          </section>
          ${stats.family_reported
            ? html`<section aria-labelledby="families-said">
                <h2 id="families-said">${t("public.families_said")}</h2>
                <p class="hint">${t("public.families_said_note", { families: figure(stats.family_reported.families) })}</p>
                <div class="charts">
                  <${BarChart} id="family-answers" title=${t("public.family_answers")} columnLabel=${[t("public.answer"), t("public.families")]}
                    rows=${stats.family_reported.by_answer.map((r) => ({ label: t(`family.answer.${r.answer}`), value: r.families }))} />
                </div>
              </section>`
            : null}
          <section aria-labelledby="about" class="about">
            <h2 id="about">${t("public.about")}</h2>
            <p>${t("public.about_what")}</p>
            <p>${t("public.about_small")}</p>
            <p>${t("public.about_times")}</p>
          </section>`
        : null}
    </main>
  </div>`;
}
