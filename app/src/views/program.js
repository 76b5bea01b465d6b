// A program's full HSDS record: what it offers, to whom, where, when and how to reach it, and a
// summary to share with the family (name, phone, address, hours) as text, by the device's own
// share sheet, or printed.
import { useEffect, useState } from "preact/hooks";
import * as directory from "../directory.js";
import { formatDateTime, t } from "../i18n.js";
import { href } from "../router.js";
import * as store from "../store.js";
import { Notice, ScreenTitle, announce, html, problemText, useApp } from "../ui.js";
import { Hours, accepting, eligibility, languagesOf, publishedEligibility, telHref } from "./cards.js";
import { Checked, Closures, IntakeNote, closureLines } from "./listing-state.js";
import { toggleInCart } from "./search.js";

const DAY_ORDER = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const LANG = directory.CONTENT_LANGUAGE;

function schedulesOf(service) {
  return [...(service.schedules ?? []), ...(service.service_at_locations ?? []).flatMap((l) => l.schedules ?? [])];
}

function scheduleLines(service) {
  return schedulesOf(service).filter((s) => s.opens_at && s.closes_at).map((s) => {
    const days = (s.byday ?? "").split(",").filter(Boolean).sort((a, b) => DAY_ORDER.indexOf(a) - DAY_ORDER.indexOf(b));
    const label = days.map((d) => t(`day.${d}`)).join(", ") || s.description || "";
    return `${label}: ${s.opens_at?.slice(0, 5)}–${s.closes_at?.slice(0, 5)}`;
  });
}

const addressLines = (service) =>
  (service.service_at_locations ?? [])
    .map((l) => l.location)
    .filter(Boolean)
    .flatMap((l) => (l.addresses ?? []).map((a) => [a.address_1, a.city, `${a.state_province ?? ""} ${a.postal_code ?? ""}`.trim()].filter(Boolean).join(", ")));

/** What the family takes away: plain text, no family data in it. */
export function shareText(service) {
  const phones = (service.phones ?? []).map((p) => p.number);
  const lines = [
    service.name,
    service.organization?.name && service.organization.name !== service.name ? service.organization.name : null,
    phones.length ? `${t("program.phone")}: ${phones.join(", ")}` : null,
    ...addressLines(service).map((a) => `${t("share.address")}: ${a}`),
    ...scheduleLines(service).map((h) => `${t("program.hours")}: ${h}`),
    service.url || service.organization?.website ? `${t("program.website")}: ${service.url || service.organization.website}` : null,
  ];
  return lines.filter(Boolean).join("\n");
}

function Share({ service }) {
  const [open, setOpen] = useState(false);
  const text = shareText(service);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      announce(t("share.copied"));
    } catch {
      announce(t("share.copy_failed"));
    }
  };
  const send = () => navigator.share({ title: service.name, text }).catch(() => {});
  const print = () => {
    document.body.classList.add("printing-share");
    addEventListener("afterprint", () => document.body.classList.remove("printing-share"), { once: true });
    window.print();
  };
  return html`<div class="share">
    <button type="button" aria-expanded=${open ? "true" : "false"} aria-controls="share-panel" onClick=${() => setOpen(!open)}>
      ${t("share.button")}</button>
    ${open
      ? html`<section id="share-panel" class="share-panel" aria-labelledby="share-title">
          <h2 id="share-title">${t("share.title")}</h2>
          <p class="hint">${t("share.hint")}</p>
          <pre class="share-summary" lang=${LANG}>${text}</pre>
          <div class="row">
            ${typeof navigator.share === "function" ? html`<button type="button" class="primary" onClick=${send}>${t("share.send")}</button>` : null}
            <button type="button" onClick=${copy}>${t("share.copy")}</button>
            <button type="button" onClick=${print}>${t("share.print")}</button>
          </div>
        </section>`
      : null}
  </div>`;
}

function Row({ label, children }) {
  return children && (!Array.isArray(children) || children.length) ? html`<div><dt>${label}</dt><dd>${children}</dd></div>` : null;
}

export function ProgramScreen({ id }) {
  const { config } = useApp();
  const cart = store.useStore((s) => s.cart);
  const [loaded, setLoaded] = useState(null);
  const [error, setError] = useState(null);
  const [terms, setTerms] = useState([]);
  useEffect(() => {
    directory.program(config, id).then(setLoaded, setError);
    directory.taxonomy(config).then(setTerms);
  }, [id]);
  if (error) return html`<${Notice} kind="error">${problemText(error)}</${Notice}>`;
  if (!loaded) return html`<p>${t("common.loading")}</p>`;
  const service = loaded.service;
  const state = accepting(service);
  const chosen = cart.some((p) => p.id === service.id);
  const locations = (service.service_at_locations ?? []).map((l) => l.location).filter(Boolean);
  return html`<article class="program">
    <p><a href=${href("search")}>← ${t("program.back")}</a></p>
    <${ScreenTitle}><span lang=${LANG}>${service.name}</span></${ScreenTitle}>
    <p class="org" lang=${LANG}>${service.organization?.name}</p>
    ${loaded.offline ? html`<${Notice} kind="warn">${t("program.offline", { date: formatDateTime(loaded.asOf) })}</${Notice}>` : null}
    <p lang=${LANG}>${service.description}</p>
    <${Checked} service=${service} />
    <div class="row">
      <span class=${`badge ${state.ok ? "badge-ok" : "badge-bad"}`}>${state.ok ? "" : "✕ "}${state.label}</span>
      <${Hours} service=${service} />
      <button class=${chosen ? "chosen" : "primary"} aria-pressed=${chosen ? "true" : "false"}
        disabled=${!state.ok && !chosen} onClick=${() => toggleInCart(config, service, terms)}>
        ${chosen ? t("program.chosen") : t("program.choose")}</button>
      <${Share} service=${service} />
    </div>
    <${IntakeNote} service=${service} />
    <dl class="facts wide">
      <${Row} label=${t("program.hours")}>${scheduleLines(service).length
        ? html`<ul class="plain">${scheduleLines(service).map((line) => html`<li>${line}</li>`)}</ul>`
        : t("hours.unknown")}</${Row}>
      <${Row} label=${t("program.closures")}>${closureLines(service).length ? html`<${Closures} service=${service} />` : null}</${Row}>
      <${Row} label=${t("program.phone")}>${(service.phones ?? []).map(
        (p) => html`<a class="tel" href=${telHref(p.number)}>${p.number}</a> `,
      )}</${Row}>
      <${Row} label=${t("program.email")}>${service.email}</${Row}>
      <${Row} label=${t("program.website")}>${service.url || service.organization?.website}</${Row}>
      <${Row} label=${t("program.languages")}>${languagesOf(service)}</${Row}>
      <${Row} label=${t("program.eligibility")}>${[eligibility(service), publishedEligibility(service)].filter(Boolean).join(" · ")}</${Row}>
      <${Row} label=${t("program.application")}>${service.application_process ? html`<span lang=${LANG}>${service.application_process}</span>` : null}</${Row}>
      <${Row} label=${t("program.documents")}>${(service.required_documents ?? []).map((d) => d.document).join(", ")}</${Row}>
      <${Row} label=${t("program.areas")}>${(service.service_areas ?? []).map((a) => a.name).join(", ")}</${Row}>
      <${Row} label=${t("program.locations")}>${locations.map((l) => html`<p lang=${LANG}>${l.name}<br />${(l.addresses ?? []).map(
        (a) => `${a.address_1}, ${a.city}, ${a.state_province ?? ""} ${a.postal_code ?? ""}`,
      )}</p>`)}</${Row}>
    </dl>
  </article>`;
}
