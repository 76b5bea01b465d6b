// "Our programs": the agency's own listing as officers see it, kept true by its staff. Each
// program shows whether it takes referrals (changed in a tap, with an "until" day and a note),
// when the agency last checked it (flagged after 180 days, as officers see it), a "Still
// correct" button, and its edit screen. Only the agency's own programs are listed: the
// directory answers for no other (and refuses to change another's).
import { useEffect, useState } from "preact/hooks";
import { formatDate, t } from "../i18n.js";
import { agencyPrograms, freshness, stillCorrect } from "../listing.js";
import { href } from "../router.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { Notice, ScreenTitle, announce, html, problemText, useApp } from "../ui.js";
import { Hours } from "./cards.js";
import { IntakeForm } from "./intake.js";
import { Checked, IntakeBadge, IntakeNote } from "./listing-state.js";

/** The agency's programs from the directory, and a way to put one back changed. */
export function useAgencyPrograms() {
  const { config, session } = useApp();
  const [listing, setListing] = useState(null);
  const [error, setError] = useState(null);
  const load = () =>
    agencyPrograms(config, session).then(
      (data) => {
        setListing(data);
        setError(null);
      },
      setError,
    );
  useEffect(() => {
    load();
  }, [session.token]);
  const replace = ({ service, version }) =>
    setListing((now) => ({ ...now, items: now.items.map((p) => (p.service.id === service.id ? { service, version } : p)) }));
  return { listing, error, replace, reload: load };
}

function ProgramCard({ program, onChanged }) {
  const { config, session } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const { service } = program;
  const titleId = `program-${service.id}`;
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const saved = await stillCorrect(config, session, service.id);
      onChanged(saved);
      announce(t("programs.confirmed", { name: saved.service.name }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<li class="card our-program" aria-labelledby=${titleId}>
    <div class="card-head">
      <h2 id=${titleId} lang=${CONTENT_LANGUAGE}>${service.name}</h2>
      <${IntakeBadge} service=${service} />
    </div>
    <${IntakeNote} service=${service} />
    <p class="hours-line"><${Hours} service=${service} /></p>
    <${Checked} service=${service} ours=${true} />
    <${IntakeForm} program=${program} onSaved=${onChanged} />
    ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
    <div class="actions">
      <a class="button primary" href=${href("programs", service.id)}>${t("programs.edit")}<span class="visually-hidden"> ${service.name}</span></a>
      <button type="button" disabled=${busy} onClick=${confirm}>${t("programs.still_correct")}<span class="visually-hidden"> ${service.name}</span></button>
    </div>
  </li>`;
}

export function OurProgramsScreen() {
  const { session } = useApp();
  const { listing, error, replace } = useAgencyPrograms();
  const agency = session.user.agency_name;
  if (error && !listing) return html`<section class="programs-screen"><${ScreenTitle}>${t("programs.title")}</${ScreenTitle}>
    <${Notice} kind="error">${problemText(error)}</${Notice}></section>`;
  if (!listing) return html`<p>${t("common.loading")}</p>`;
  const stale = listing.items.filter((p) => freshness(p.service).stale).length;
  const review = listing.last_review;
  return html`<section class="programs-screen">
    <${ScreenTitle}>${t("programs.title")}${agency ? html` · <span lang=${CONTENT_LANGUAGE}>${agency}</span>` : null}</${ScreenTitle}>
    <p class="intro">${t("programs.intro")}</p>
    ${stale ? html`<${Notice} kind="warn"><span aria-hidden="true">⚠</span> ${t("programs.stale_count", { count: stale })}</${Notice}>` : null}
    ${review && !review.confirmed_at
      ? html`<p class="muted">${t("programs.review_asked", { date: formatDate(review.requested_at.slice(0, 10)) })}</p>`
      : null}
    ${listing.items.length
      ? html`<ul class="cards our-programs">${listing.items.map(
          (program) => html`<${ProgramCard} key=${program.service.id} program=${program} onChanged=${replace} />`,
        )}</ul>`
      : html`<${Notice}>${t("programs.none")}</${Notice}>`}
  </section>`;
}
