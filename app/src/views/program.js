// A program's full HSDS record: what it offers, to whom, where, when and how to reach it.
import { useEffect, useState } from "preact/hooks";
import * as directory from "../directory.js";
import { formatDateTime, t } from "../i18n.js";
import { href } from "../router.js";
import { Notice, ScreenTitle, html, problemText, useApp } from "../ui.js";
import { Hours, accepting, eligibility } from "./cards.js";
import { toggleInCart } from "./search.js";

const DAY_ORDER = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

function Schedules({ service }) {
  const all = [...(service.schedules ?? []), ...(service.service_at_locations ?? []).flatMap((l) => l.schedules ?? [])];
  if (!all.length) return html`<p>${t("hours.unknown")}</p>`;
  return html`<ul class="plain">${all.map((s) => {
    const days = (s.byday ?? "").split(",").filter(Boolean).sort((a, b) => DAY_ORDER.indexOf(a) - DAY_ORDER.indexOf(b));
    const label = days.map((d) => t(`day.${d}`)).join(", ") || s.description || "";
    return html`<li>${label}: ${s.opens_at?.slice(0, 5)}–${s.closes_at?.slice(0, 5)}</li>`;
  })}</ul>`;
}

function Row({ label, children }) {
  return children ? html`<div><dt>${label}</dt><dd>${children}</dd></div>` : null;
}

export function ProgramScreen({ id }) {
  const { config, cart, setCart } = useApp();
  const [loaded, setLoaded] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    directory.program(config, id).then(setLoaded, setError);
  }, [id]);
  if (error) return html`<${Notice} kind="error">${problemText(error)}</${Notice}>`;
  if (!loaded) return html`<p>${t("common.loading")}</p>`;
  const service = loaded.service;
  const state = accepting(service);
  const chosen = cart.some((p) => p.id === service.id);
  const locations = (service.service_at_locations ?? []).map((l) => l.location).filter(Boolean);
  return html`<article class="program">
    <p><a href=${href("search")}>← ${t("program.back")}</a></p>
    <${ScreenTitle}>${service.name}</${ScreenTitle}>
    <p class="org">${service.organization?.name}</p>
    ${loaded.offline ? html`<${Notice} kind="warn">${t("program.offline", { date: formatDateTime(loaded.asOf) })}</${Notice}>` : null}
    <p>${service.description}</p>
    <div class="row">
      <span class=${`badge ${state.ok ? "badge-ok" : "badge-bad"}`}>${state.label}</span>
      <${Hours} service=${service} />
      <button class=${chosen ? "chosen" : "primary"} aria-pressed=${chosen ? "true" : "false"}
        disabled=${!state.ok && !chosen} onClick=${() => toggleInCart(cart, setCart, service)}>
        ${chosen ? t("program.chosen") : t("program.choose")}</button>
    </div>
    <dl class="facts wide">
      <${Row} label=${t("program.hours")}><${Schedules} service=${service} /></${Row}>
      <${Row} label=${t("program.phone")}>${(service.phones ?? []).map(
        (p) => html`<a class="tel" href=${`tel:${p.number.replace(/[^0-9+]/g, "")}`}>${p.number}</a> `,
      )}</${Row}>
      <${Row} label=${t("program.email")}>${service.email}</${Row}>
      <${Row} label=${t("program.website")}>${service.url || service.organization?.website}</${Row}>
      <${Row} label=${t("program.languages")}>${(service.languages ?? []).map((l) => l.name ?? l.code).join(", ")}</${Row}>
      <${Row} label=${t("program.eligibility")}>${eligibility(service)}</${Row}>
      <${Row} label=${t("program.application")}>${service.application_process}</${Row}>
      <${Row} label=${t("program.documents")}>${(service.required_documents ?? []).map((d) => d.document).join(", ")}</${Row}>
      <${Row} label=${t("program.areas")}>${(service.service_areas ?? []).map((a) => a.name).join(", ")}</${Row}>
      <${Row} label=${t("program.locations")}>${locations.map((l) => html`<p>${l.name}<br />${(l.addresses ?? []).map(
        (a) => `${a.address_1}, ${a.city}, ${a.state_province ?? ""} ${a.postal_code ?? ""}`,
      )}</p>`)}</${Row}>
      <${Row} label=${t("program.verified")}>${service.x_bridges?.last_verified}</${Row}>
    </dl>
  </article>`;
}
