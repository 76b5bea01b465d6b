// How a program looks in a list: what an officer needs to decide in a doorway. Directory
// content is shown as published, marked with its language.
import { CONTENT_LANGUAGE } from "../directory.js";
import { today } from "../hours.js";
import { formatNumber, languageName, t } from "../i18n.js";
import { href } from "../router.js";
import { html } from "../ui.js";
import { Checked, IntakeNote, intakeLabel } from "./listing-state.js";

/** Whether the program takes referrals, in words with its "until" day (listing-state.js). */
export function accepting(service) {
  const { ok, label } = intakeLabel(service);
  return { ok, label };
}

export function eligibility(service) {
  const parts = [];
  const { minimum_age: min, maximum_age: max } = service;
  if (min != null && max != null) parts.push(t("program.ages", { min, max }));
  else if (min != null) parts.push(t("program.age_min", { min }));
  else if (max != null) parts.push(t("program.age_max", { max }));
  return parts.join(" · ");
}

/** Eligibility and fees as the directory words them (its language, not the app's). */
export function publishedEligibility(service) {
  return [service.eligibility_description, service.fees_description].filter(Boolean).join(" · ");
}

export const languagesOf = (service) => (service.languages ?? []).map((l) => (l.code ? languageName(l.code) : l.name)).join(", ");

export function Hours({ service }) {
  const hours = today(service);
  if (!hours.known) return html`<span class="hours">${t("hours.unknown")}</span>`;
  if (hours.closure) {
    const reason = hours.closure.description;
    return html`<span class="hours"><span class="badge badge-muted">${t("hours.closed")}</span>
      ${" "}${reason ? html`${t("hours.closure_today")}: <span lang=${CONTENT_LANGUAGE}>${reason}</span>` : t("hours.closure_today")}</span>`;
  }
  return html`<span class="hours">
    <span class=${`badge ${hours.open ? "badge-ok" : "badge-muted"}`}>${hours.open ? t("hours.open") : t("hours.closed")}</span>
    ${" "}${hours.spans.length ? t("hours.today", { spans: hours.spans.join(", ") }) : t("hours.closed_today")}
  </span>`;
}

export const telHref = (number) => `tel:${number.replace(/[^0-9+]/g, "")}`;

export function ProgramCard({ service, chosen, onToggle }) {
  const phone = service.phones?.[0]?.number;
  const distance = service.x_bridges?.distance_km;
  const state = accepting(service);
  const languages = languagesOf(service);
  const ages = eligibility(service);
  const published = publishedEligibility(service);
  return html`<li class="card program-card">
    <div class="card-head">
      <h3><a href=${href("program", service.id)} lang=${CONTENT_LANGUAGE}>${service.name}</a></h3>
      ${distance != null ? html`<span class="distance">${t("program.km", { km: formatNumber(distance, 1) })}</span>` : null}
    </div>
    <p class="org" lang=${CONTENT_LANGUAGE}>${service.organization?.name}</p>
    <p class="description" lang=${CONTENT_LANGUAGE}>${service.description}</p>
    <dl class="facts">
      <div><dt>${t("program.hours")}</dt><dd><${Hours} service=${service} /></dd></div>
      ${phone ? html`<div><dt>${t("program.phone")}</dt><dd><a class="tel" href=${telHref(phone)}>${phone}</a></dd></div>` : null}
      ${languages ? html`<div><dt>${t("program.languages")}</dt><dd>${languages}</dd></div>` : null}
      ${ages || published
        ? html`<div><dt>${t("program.eligibility")}</dt><dd>${ages}${ages && published ? " · " : ""}${published ? html`<span lang=${CONTENT_LANGUAGE}>${published}</span>` : null}</dd></div>`
        : null}
    </dl>
    <${IntakeNote} service=${service} />
    <${Checked} service=${service} />
    <div class="card-foot">
      <span class=${`badge ${state.ok ? "badge-ok" : "badge-bad"}`}>${state.ok ? "" : "✕ "}${state.label}</span>
      ${onToggle
        ? html`<button class=${chosen ? "chosen" : ""} aria-pressed=${chosen ? "true" : "false"}
            disabled=${!state.ok && !chosen} onClick=${() => onToggle(service)}>
            ${chosen ? t("program.chosen") : t("program.choose")}</button>`
        : null}
    </div>
  </li>`;
}
