// Bar charts drawn in SVG by the app itself (no chart library, nothing fetched from elsewhere),
// each with the same figures as a table beside it for screen readers and for reading exactly.
// A count the statistics keep hidden is drawn as what it is: "fewer than 5" (a hatched stub,
// never a bar of a made-up length) or "hidden" (no bar at all).
import { formatNumber, t } from "../i18n.js";
import { html } from "../ui.js";
import { useMedia } from "./inbox-list.js";

const ROW = 30;
const CHAR = 9; // about one character's width at the labels' size (a little over: never cut at the edge)
const NARROW = "(max-width: 600px)";

/** A label cut to fit `width` (the table beside the chart has it whole). */
const fit = (label, width) => {
  const most = Math.floor((width - 16) / CHAR);
  const text = String(label);
  return text.length > most ? `${text.slice(0, Math.max(1, most - 1))}…` : text;
};

/** A figure as it reads: a number in the page's language, "fewer than 5", or "hidden". */
export function figure(value, format = (n) => formatNumber(n)) {
  if (value === null || value === undefined) return "—";
  if (value === "<5") return t("public.fewer_than_5");
  if (value === "suppressed") return t("public.hidden");
  return format(value);
}

/**
 * rows: [{ label, value }] where value is a number, "<5", "suppressed" or null.
 * `format` writes a number (a count, hours, a share).
 */
export function BarChart({ id, title, rows, format, columnLabel }) {
  // drawn about as wide as it is shown, so its words keep their size on a phone
  const WIDTH = useMedia(NARROW) ? 340 : 560;
  const numbers = rows.map((r) => r.value).filter((v) => typeof v === "number");
  const max = Math.max(1, ...numbers);
  // the labels' column as wide as the longest label (within reason), the bars take the rest
  const LABEL = Math.min(WIDTH * 0.45, Math.max(90, ...rows.map((r) => String(r.label).length * CHAR + 16)));
  const BAR = WIDTH - LABEL - 90;
  const height = rows.length * ROW + 8;
  return html`<figure class="chart" aria-labelledby=${`${id}-title`}>
    <figcaption id=${`${id}-title`}><h3>${title}</h3></figcaption>
    <div class="chart-body">
      <svg viewBox=${`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby=${`${id}-title`} aria-describedby=${`${id}-table`}
        preserveAspectRatio="xMinYMin meet">
        <defs>
          <pattern id=${`${id}-hatch`} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
            <rect width="6" height="6" fill="#e5e7eb" /><line x1="0" y1="0" x2="0" y2="6" stroke="#4b5563" stroke-width="2" />
          </pattern>
        </defs>
        ${rows.map((row, i) => {
          const y = i * ROW + 4;
          const numeric = typeof row.value === "number";
          const width = numeric ? Math.max(2, (row.value / max) * BAR) : row.value === "<5" ? 14 : 0;
          return html`<g>
            <text x=${LABEL - 8} y=${y + ROW / 2 + 5} text-anchor="end" class="chart-label">${fit(row.label, LABEL)}</text>
            ${width ? html`<rect x=${LABEL} y=${y + 4} width=${width} height=${ROW - 10} rx="3"
              fill=${numeric ? "#0b4f6c" : `url(#${id}-hatch)`} stroke=${numeric ? "none" : "#4b5563"} />` : null}
            <text x=${LABEL + width + 6} y=${y + ROW / 2 + 5} class="chart-value">${figure(row.value, format)}</text>
          </g>`;
        })}
      </svg>
      <table id=${`${id}-table`} class="chart-table">
        <caption class="visually-hidden">${title}</caption>
        <thead><tr><th scope="col">${columnLabel[0]}</th><th scope="col">${columnLabel[1]}</th></tr></thead>
        <tbody>
          ${rows.map((row) => html`<tr><th scope="row">${row.label}</th><td>${figure(row.value, format)}</td></tr>`)}
        </tbody>
      </table>
    </div>
  </figure>`;
}
