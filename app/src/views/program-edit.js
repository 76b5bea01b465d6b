// Editing one of the agency's own programs: its words, phones, street address, hours and
// closures, languages, who can come and what to bring; its intake above. Saved as a merge patch
// with the version read (If-Match): a colleague's change meanwhile is shown, not overwritten, and
// every refusal of the server is shown at its field. Saving counts as having checked the listing.
import { useEffect, useState } from "preact/hooks";
import { Problem } from "../api.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { languageName, t } from "../i18n.js";
import { hoursForm, newId, placeError, saveListing, schedulesOf } from "../listing.js";
import { href } from "../router.js";
import { Field, Notice, ScreenTitle, announce, html, problemText, useApp } from "../ui.js";
import { HoursEditor } from "./hours-editor.js";
import { IntakeForm } from "./intake.js";
import { Checked } from "./listing-state.js";
import { useAgencyPrograms } from "./programs.js";

// The languages offered as ticks (those a program already lists are offered too).
const COMMON_LANGUAGES = ["en", "es", "vi", "zh", "ru", "uk", "ar", "so", "fr", "pt", "tl", "ko"];

function formOf(service) {
  return {
    description: service.description ?? "",
    phones: (service.phones ?? []).map((p) => ({ id: p.id, number: p.number })),
    addresses: (service.service_at_locations ?? []).map((link) => link.location?.addresses?.[0]?.address_1 ?? null),
    hours: hoursForm(service),
    languages: (service.languages ?? []).map((l) => l.code).filter(Boolean),
    minimum_age: service.minimum_age ?? "",
    maximum_age: service.maximum_age ?? "",
    eligibility_description: service.eligibility_description ?? "",
    documents: (service.required_documents ?? []).map((d) => ({ id: d.id, document: d.document ?? "" })),
  };
}

const age = (value) => (value === "" || value === null ? null : Number(value));

/** The form as a merge patch of the program (lists whole, as the server replaces them). */
function patchOf(form, service) {
  const known = new Map((service.languages ?? []).map((l) => [l.code, l]));
  return {
    description: form.description,
    phones: form.phones.filter((p) => p.number.trim()).map((p) => ({ ...(service.phones ?? []).find((o) => o.id === p.id), id: p.id, number: p.number.trim() })),
    service_at_locations: (service.service_at_locations ?? []).map((link, index) => {
      const [first, ...rest] = link.location?.addresses ?? [];
      if (!first || form.addresses[index] === null) return link;
      return { ...link, location: { ...link.location, addresses: [{ ...first, address_1: form.addresses[index] }, ...rest] } };
    }),
    schedules: schedulesOf(form.hours),
    languages: form.languages.map((code) => known.get(code) ?? { id: newId(), code, name: languageName(code) }),
    minimum_age: age(form.minimum_age),
    maximum_age: age(form.maximum_age),
    eligibility_description: form.eligibility_description || null,
    required_documents: form.documents.filter((d) => d.document.trim()).map((d) => ({ id: d.id, document: d.document.trim() })),
  };
}

/** What the form can tell before asking the server. */
function ownChecks(form) {
  const errors = {};
  form.hours.hours.forEach((row, index) => {
    if (!row.days.length) errors[`hours.${index}`] = t("edit.days_missing");
  });
  return errors;
}

function ListEditor({ legend, items, field, label, add, errors, errorKey, onChange }) {
  return html`<fieldset>
    <legend>${legend}</legend>
    ${items.map((item, index) => html`<div class="row list-row" key=${item.id}>
      <${Field} id=${`${errorKey}-${index}`} label=${label(index)} error=${errors[`${errorKey}.${index}`]}>
        <input id=${`${errorKey}-${index}`} type="text" maxlength="300" value=${item[field]}
          onInput=${(e) => onChange(items.map((it, i) => (i === index ? { ...it, [field]: e.currentTarget.value } : it)))} />
      </${Field}>
      <button type="button" class="link danger" onClick=${() => onChange(items.filter((_, i) => i !== index))}>
        ${t("edit.remove")}<span class="visually-hidden"> ${label(index)}</span></button>
    </div>`)}
    <button type="button" onClick=${() => onChange([...items, { id: newId(), [field]: "" }])}>${add}</button>
  </fieldset>`;
}

function Editor({ program, onSaved, reload }) {
  const { config, session } = useApp();
  const { service } = program;
  const [form, setForm] = useState(() => formOf(service));
  const [errors, setErrors] = useState({});
  const [outcome, setOutcome] = useState(null); // "saved" | "stale" | an error
  const [busy, setBusy] = useState(false);
  const set = (part) => setForm({ ...form, ...part });
  const locations = (service.service_at_locations ?? []).map((link) => link.location);

  const save = async (event) => {
    event.preventDefault();
    const own = ownChecks(form);
    setErrors(own);
    if (Object.keys(own).length) return announce(t("edit.not_saved", { count: Object.keys(own).length }));
    setBusy(true);
    setOutcome(null);
    try {
      const saved = await saveListing(config, session, service.id, program.version, patchOf(form, service));
      onSaved(saved);
      setOutcome("saved");
      announce(t("edit.saved"));
    } catch (error) {
      if (error instanceof Problem && error.status === 412) return setOutcome("stale");
      const placed = {};
      for (const e of error instanceof Problem ? error.problem.errors ?? [] : []) {
        const { key, message } = placeError(e, form.hours);
        placed[key] = placed[key] ? `${placed[key]}; ${message}` : message;
      }
      setErrors(placed);
      setOutcome(error);
      announce(t("edit.not_saved", { count: Object.keys(placed).length || 1 }));
    } finally {
      setBusy(false);
    }
  };

  const ids = new Set([...COMMON_LANGUAGES, ...form.languages]);
  return html`<form class="program-edit" onSubmit=${save} novalidate>
    <p class="hint">${t("edit.save_hint")}</p>
    ${outcome === "saved" ? html`<${Notice}>${t("edit.saved")}</${Notice}>` : null}
    ${outcome === "stale"
      ? html`<${Notice} kind="warn">${t("edit.stale")} <button type="button" onClick=${reload}>${t("edit.reload")}</button></${Notice}>`
      : null}
    ${outcome && typeof outcome === "object"
      ? html`<${Notice} kind="error">${t("edit.not_saved", { count: Object.keys(errors).length || 1 })} ${errors.form ?? (Object.keys(errors).length ? "" : problemText(outcome))}</${Notice}>`
      : null}
    <${Field} id="edit-description" label=${t("edit.description")} error=${errors.description}>
      <textarea id="edit-description" rows="4" maxlength="10000" lang=${CONTENT_LANGUAGE} value=${form.description}
        onInput=${(e) => set({ description: e.currentTarget.value })}></textarea>
    </${Field}>
    <${ListEditor} legend=${t("edit.phones")} items=${form.phones} field="number" errorKey="phones" errors=${errors}
      label=${(i) => t("edit.phone", { n: i + 1 })} add=${t("edit.add_phone")} onChange=${(phones) => set({ phones })} />
    ${errors.phones ? html`<p class="error">${errors.phones}</p>` : null}
    ${locations.map((location, index) =>
      form.addresses[index] === null
        ? null
        : html`<${Field} id=${`edit-address-${index}`} label=${t("edit.address", { place: location?.name ?? "" })}
            hint=${t("edit.address_hint")} error=${errors[`service_at_locations.${index}`]}>
            <input id=${`edit-address-${index}`} type="text" maxlength="300" value=${form.addresses[index]}
              onInput=${(e) => set({ addresses: form.addresses.map((a, i) => (i === index ? e.currentTarget.value : a)) })} />
          </${Field}>`,
    )}
    <${HoursEditor} hours=${form.hours} errors=${errors} onChange=${(hours) => set({ hours })} />
    <fieldset class=${errors.languages ? "has-error" : ""}>
      <legend>${t("edit.languages")}</legend>
      <div class="options">${[...ids].map((code) => html`<label class="option">
        <input type="checkbox" checked=${form.languages.includes(code)}
          onChange=${() => set({ languages: form.languages.includes(code) ? form.languages.filter((c) => c !== code) : [...form.languages, code] })} />
        ${languageName(code)}</label>`)}</div>
      ${errors.languages ? html`<p class="error">${errors.languages}</p>` : null}
    </fieldset>
    <fieldset>
      <legend>${t("edit.eligibility")}</legend>
      <div class="row">
        <${Field} id="edit-min-age" label=${t("edit.min_age")} error=${errors.minimum_age}>
          <input id="edit-min-age" class="narrow" type="number" inputmode="numeric" min="0" max="130" value=${form.minimum_age}
            onInput=${(e) => set({ minimum_age: e.currentTarget.value })} />
        </${Field}>
        <${Field} id="edit-max-age" label=${t("edit.max_age")} error=${errors.maximum_age}>
          <input id="edit-max-age" class="narrow" type="number" inputmode="numeric" min="0" max="130" value=${form.maximum_age}
            onInput=${(e) => set({ maximum_age: e.currentTarget.value })} />
        </${Field}>
      </div>
      <${Field} id="edit-eligibility" label=${t("edit.eligibility_description")} error=${errors.eligibility_description}>
        <textarea id="edit-eligibility" rows="2" maxlength="10000" lang=${CONTENT_LANGUAGE} value=${form.eligibility_description}
          onInput=${(e) => set({ eligibility_description: e.currentTarget.value })}></textarea>
      </${Field}>
    </fieldset>
    <${ListEditor} legend=${t("edit.documents")} items=${form.documents} field="document" errorKey="required_documents" errors=${errors}
      label=${(i) => t("edit.document", { n: i + 1 })} add=${t("edit.add_document")} onChange=${(documents) => set({ documents })} />
    <div class="sendbar">
      <button type="submit" class="primary" disabled=${busy}>${t("edit.save")}</button>
    </div>
  </form>`;
}

export function ProgramEditScreen({ id }) {
  const { listing, error, replace, reload } = useAgencyPrograms();
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [generation]);
  const back = html`<p><a href=${href("programs")}>← ${t("edit.back")}</a></p>`;
  if (error && !listing) return html`<section>${back}<${Notice} kind="error">${problemText(error)}</${Notice}></section>`;
  if (!listing) return html`<p>${t("common.loading")}</p>`;
  const program = listing.items.find((p) => p.service.id === id);
  if (!program) {
    return html`<section class="program-edit-screen">${back}
      <${ScreenTitle}>${t("edit.not_found_title")}</${ScreenTitle}>
      <${Notice} kind="warn">${t("edit.not_yours")}</${Notice}></section>`;
  }
  const again = async () => {
    await reload();
    setGeneration(generation + 1);
  };
  return html`<section class="program-edit-screen">
    ${back}
    <${ScreenTitle}>${t("edit.title")} <span lang=${CONTENT_LANGUAGE}>${program.service.name}</span></${ScreenTitle}>
    <${Checked} service=${program.service} ours=${true} />
    <${IntakeForm} key=${`intake-${generation}`} program=${program} onSaved=${replace} />
    <${Editor} key=${`editor-${generation}`} program=${program} onSaved=${replace} reload=${again} />
  </section>`;
}
