// How the inbox shows its referrals: a dense table at a desk (1200 px and wider), cards on a
// tablet or phone. Each row shows what the family agreed to share at a glance (the API leaves
// out the rest), the reference to match a phone call, and the clock. Urgency and a clock under
// 2 h stand out by colour and by a shape and words too (never colour alone).
import { useEffect, useState } from "preact/hooks";
import * as directory from "../directory.js";
import { languageName, t, tOr } from "../i18n.js";
import { Clock, Urgency } from "./clock.js";
import { href, navigate } from "../router.js";
import { StatusBadge, html, useApp } from "../ui.js";

export const DESK = "(min-width: 1200px)";

/** Whether the screen matches a media query, following it as the window changes. */
export function useMedia(query) {
  const [matches, setMatches] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const list = matchMedia(query);
    const changed = () => setMatches(list.matches);
    list.addEventListener("change", changed);
    changed();
    return () => list.removeEventListener("change", changed);
  }, [query]);
  return matches;
}

/** A need code's name: the app's translation, else the directory's term, else the code. */
export function useNeedName() {
  const { config } = useApp();
  const [terms, setTerms] = useState({});
  useEffect(() => {
    directory.taxonomy(config).then((all) => setTerms(Object.fromEntries(all.map((term) => [term.code, term.name]))));
  }, []);
  return (code) => tOr(`need.${code}`, terms[code] ?? code);
}

function Family({ referral }) {
  return referral.family_label
    ? html`<span class="family">${referral.family_label}</span>`
    : html`<span class="family muted">${t("inbox.name_not_shared")}</span>`;
}

function spoken(referral) {
  if (!referral.language) return null;
  const name = languageName(referral.language);
  return referral.interpreter_needed ? t("inbox.with_interpreter", { language: name }) : name;
}

function NewMark({ arrived }) {
  return arrived ? html`<span class="badge inbox-new">${t("inbox.new")}</span>` : null;
}

function Card({ referral, now, needName, arrived }) {
  const facts = [
    referral.program_name,
    referral.needs.map(needName).join(", "),
    spoken(referral),
    referral.officer_name ? t("inbox.from_officer", { name: referral.officer_name }) : null,
  ].filter(Boolean);
  return html`<li class=${`card referral-row inbox-card${arrived ? " arrived" : ""}`} data-referral-id=${referral.id}>
    <div class="card-head">
      <h3><a href=${href("inbox", referral.id)}><${Family} referral=${referral} />
        <span class="reference">${referral.reference}</span></a></h3>
      <${NewMark} arrived=${arrived} />
    </div>
    <p class="inbox-card-line">
      <${Urgency} urgency=${referral.urgency} />
      <${Clock} referral=${referral} now=${now} />
      <${StatusBadge} status=${referral.status} />
    </p>
    <p class="inbox-facts">${facts.map((fact) => html`<span>${fact}</span>`)}</p>
  </li>`;
}

const CELLS = {
  family: (r) => html`<td><${Family} referral=${r} /></td>`,
  program: (r) => html`<td>${r.program_name ?? ""}</td>`,
  needs: (r, { needName }) =>
    html`<td class="needs">${r.needs.length ? r.needs.map(needName).join(", ") : html`<span class="muted">—</span>`}</td>`,
  language: (r) => html`<td>${spoken(r) ?? html`<span class="muted">—</span>`}</td>`,
  urgency: (r) => html`<td><${Urgency} urgency=${r.urgency} /></td>`,
  officer: (r) => html`<td>${r.officer_name ?? ""}</td>`,
  clock: (r, { now }) => html`<td><${Clock} referral=${r} now=${now} /></td>`,
  status: (r) => html`<td><${StatusBadge} status=${r.status} /></td>`,
};

function Row({ referral, columns, now, needName, arrived }) {
  // the whole row opens the referral for a mouse; the reference is the link for the keyboard
  const open = (event) => event.target.closest("a") || navigate("inbox", referral.id);
  return html`<tr class=${`referral-row${arrived ? " arrived" : ""}`} data-referral-id=${referral.id} onClick=${open}>
    <th scope="row"><a class="reference" href=${href("inbox", referral.id)}>${referral.reference}</a>
      <${NewMark} arrived=${arrived} /></th>
    ${columns.slice(1).map((column) => CELLS[column](referral, { now, needName }))}
  </tr>`;
}

const COLUMNS = ["reference", "family", "program", "needs", "language", "urgency", "officer", "clock", "status"];

/** The referrals of one list, as a table at a desk and as cards below that width. A list of
 *  referrals awaiting an answer has no status column (all are new), one of answered referrals
 *  no clock (none runs). */
export function InboxRows({ items, now, arrived, caption, without = [] }) {
  const columns = COLUMNS.filter((c) => !without.includes(c));
  const desk = useMedia(DESK);
  const needName = useNeedName();
  if (desk) {
    return html`<div class="inbox-table-wrap"><table class="inbox-table">
      <caption class="visually-hidden">${caption}</caption>
      <thead><tr>${columns.map((c) => html`<th scope="col" class=${c === "needs" ? "needs" : null}>${t(`inbox.col_${c}`)}</th>`)}</tr></thead>
      <tbody>
        ${items.map((r) => html`<${Row} key=${r.id} referral=${r} columns=${columns} now=${now} needName=${needName} arrived=${arrived.has(r.id)} />`)}
      </tbody>
    </table></div>`;
  }
  return html`<ul class="cards inbox">
    ${items.map((r) => html`<${Card} key=${r.id} referral=${r} now=${now} needName=${needName} arrived=${arrived.has(r.id)} />`)}
  </ul>`;
}
