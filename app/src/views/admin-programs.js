// Admins' programs: the directory's HSDS services listed and searched (every status), one created
// or edited field by field — its organization, where it is delivered, the needs it meets, the
// agency its referrals go to and whether it takes them — and retired or brought back by its HSDS
// status. Saved with the version read (a colleague's change meanwhile is shown, never
// overwritten); the API's refusals appear at their fields; its history below (`admin-history`).
import { useEffect, useState } from "preact/hooks";
import { call, withQuery } from "../api.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { formatDateTime, t, tOr } from "../i18n.js";
import { href, navigate } from "../router.js";
import { Field, Notice, ScreenTitle, html, problemText, useApp } from "../ui.js";
import {
  ConfirmButton,
  DocField,
  HSDS_STATUSES,
  ListScreen,
  ProgramStatus,
  SaveOutcome,
  Table,
  readDocument,
  useEditedDocument,
  useHsdsList,
  warningsOf,
  writeDocument,
} from "./admin-common.js";
import { newId } from "./admin-fields.js";
import { ProgramHistory } from "./admin-history.js";

const CAPACITIES = ["available", "limited", "waitlist", "full"];
const FIELDS = [
  "name", "alternate_name", "description", "status", "organization", "phones", "email", "url",
  "eligibility_description", "minimum_age", "maximum_age", "attributes", "service_at_locations",
  "x_bridges.agency_id", "x_bridges.accepting_referrals", "x_bridges.capacity_status",
];

export function ProgramsScreen() {
  const { config } = useApp();
  const list = useHsdsList(config.directory_url, "/services", (search) => ({ sort: search ? undefined : "name" }));
  return html`<${ListScreen} title=${t("admin.programs")} addTo="services" addLabel=${t("admin.new_program")}
    list=${list} searchLabel=${t("admin.search_programs")}>
    ${(programs) => html`<${Table} caption=${t("admin.programs")} items=${programs} linkOf=${(p) => href("services", p.id)}
      columns=${[
        [t("admin.name"), (p) => html`<span lang=${CONTENT_LANGUAGE}>${p.name}</span>`],
        [t("admin.organization"), (p) => html`<span lang=${CONTENT_LANGUAGE}>${p.organization?.name ?? ""}</span>`],
        [t("admin.status"), (p) => html`<${ProgramStatus} status=${p.status} />`],
        [t("admin.referrals"), (p) => (p.x_bridges?.accepting_referrals === false ? t("admin.not_accepting") : t(`capacity.${p.x_bridges?.capacity_status ?? "available"}`))],
      ]} />`}
  </${ListScreen}>`;
}

function blankProgram() {
  return {
    id: newId(),
    name: "",
    status: "active",
    description: "",
    service_at_locations: [],
    attributes: [],
    phones: [],
    x_bridges: { accepting_referrals: true, capacity_status: "available" },
  };
}

/** What the form offers to choose from: organizations (searched), terms, agencies. */
function useChoices(config, token) {
  const [terms, setTerms] = useState([]);
  const [agencies, setAgencies] = useState([]);
  useEffect(() => {
    call(withQuery(config.directory_url, "/taxonomy_terms", { per_page: 200 }), { token }).then(
      ({ data }) => setTerms(data.contents),
      () => setTerms([]),
    );
    call(`${config.directory_url}/agencies`, { token }).then(({ data }) => setAgencies(data), () => setAgencies([]));
  }, []);
  return { terms, agencies };
}

/** A searched list to pick one object from (an organization, a location). */
function Picker({ id, label, path, onPick, render, hint }) {
  const { config, session } = useApp();
  const [typed, setTyped] = useState("");
  const [found, setFound] = useState(null);
  const look = async (event) => {
    event.preventDefault();
    const { data } = await call(withQuery(config.directory_url, path, { search: typed.trim() || undefined, per_page: 8 }), {
      token: session.token,
    });
    setFound(data.contents);
  };
  return html`<div class="picker">
    <label for=${id}>${label}</label>
    ${hint ? html`<p class="hint">${hint}</p>` : null}
    <div class="row">
      <input id=${id} type="search" value=${typed} maxlength="200" onInput=${(e) => setTyped(e.currentTarget.value)}
        onKeyDown=${(e) => e.key === "Enter" && look(e)} />
      <button type="button" onClick=${look}>${t("admin.find")}</button>
    </div>
    ${found?.length === 0 ? html`<p class="muted">${t("admin.none_found")}</p>` : null}
    ${found?.length
      ? html`<ul class="plain picked">${found.map(
          (item) => html`<li><button type="button" class="link" onClick=${() => { onPick(item); setFound(null); setTyped(""); }}>
            <span lang=${CONTENT_LANGUAGE}>${render(item)}</span></button></li>`,
        )}</ul>`
      : null}
  </div>`;
}

function Needs({ doc, terms }) {
  const chosen = new Set((doc.document.attributes ?? []).map((a) => a.taxonomy_term_id).filter(Boolean));
  const toggle = (termId, on) => {
    const kept = (doc.document.attributes ?? []).filter((a) => a.taxonomy_term_id !== termId);
    doc.edit("attributes", on ? [...kept, { id: newId(), taxonomy_term_id: termId }] : kept);
  };
  const name = (term) => tOr(`need.${term.code}`, term.name);
  const error = doc.refusal.byField.attributes;
  return html`<fieldset class=${error ? "has-error" : null} aria-describedby=${error ? "needs-error" : null}>
    <legend>${t("admin.needs")}</legend>
    <div class="options admin-needs">
      ${terms.map(
        (term) => html`<label class="option"><input type="checkbox" checked=${chosen.has(term.id)}
          onChange=${(e) => toggle(term.id, e.currentTarget.checked)} /><span>${name(term)}</span></label>`,
      )}
    </div>
    ${error ? html`<p class="error" id="needs-error">${error}</p>` : null}
  </fieldset>`;
}

function Places({ doc }) {
  const links = doc.document.service_at_locations ?? [];
  const add = (location) =>
    doc.edit("service_at_locations", [...links, { id: newId(), location_id: location.id, location }]);
  const drop = (linkId) => doc.edit("service_at_locations", links.filter((l) => l.id !== linkId));
  const error = doc.refusal.byField.service_at_locations;
  return html`<fieldset>
    <legend>${t("admin.where")}</legend>
    ${links.length
      ? html`<ul class="plain">${links.map(
          (link) => html`<li class="row between"><span lang=${CONTENT_LANGUAGE}>${link.location?.name ?? link.location_id}</span>
            <button type="button" class="link danger" onClick=${() => drop(link.id)}>${t("admin.remove")}</button></li>`,
        )}</ul>`
      : html`<p class="muted">${t("admin.no_locations")}</p>`}
    ${error ? html`<p class="error">${error}</p>` : null}
    <${Picker} id="add-location" label=${t("admin.add_location")} path="/locations" onPick=${add}
      render=${(l) => [l.name, l.addresses?.[0]?.address_1, l.addresses?.[0]?.city].filter(Boolean).join(", ")} />
  </fieldset>`;
}

function PhoneField({ doc }) {
  const phones = doc.document.phones ?? [];
  const set = (number) =>
    doc.edit("phones", number ? [{ ...(phones[0] ?? { id: newId() }), number }, ...phones.slice(1)] : phones.slice(1));
  return html`<${Field} id="f-phone" label=${t("form.phone")} error=${doc.refusal.byField.phones}>
    <input id="f-phone" type="tel" value=${phones[0]?.number ?? ""} maxlength="300" onInput=${(e) => set(e.currentTarget.value)} />
  </${Field}>`;
}

export function ProgramScreen({ id }) {
  const { config, session } = useApp();
  const creating = id === "new";
  const url = (programId) => `${config.directory_url}/services/${encodeURIComponent(programId)}`;
  const doc = useEditedDocument(
    () => (creating ? Promise.resolve({ document: blankProgram(), etag: null }) : readDocument(url(id), session.token)),
    FIELDS,
    [id],
  );
  const choices = useChoices(config, session.token);
  const [done, setDone] = useState(null);
  const [warnings, setWarnings] = useState([]);

  if (doc.loadError) return html`<${Notice} kind="error">${problemText(doc.loadError)}</${Notice}>`;
  if (!doc.document) return html`<p>${t("common.loading")}</p>`;
  const program = doc.document;

  const save = async (changed = program, text = t("admin.saved")) => {
    const saved = await doc.save(async (_, etag) => {
      const written = await writeDocument(url(changed.id), { token: session.token, body: changed, etag: creating ? null : etag });
      setWarnings(warningsOf(written.headers));
      return written;
    }, text);
    if (saved) {
      setDone(text);
      if (creating) navigate("services", changed.id);
    }
  };
  const submit = (event) => {
    event.preventDefault();
    save();
  };
  const agencies = [["", t("admin.no_agency")], ...choices.agencies.map((a) => [a.agency_id, a.name])];
  const agency = program.x_bridges?.agency_id;
  if (agency && !choices.agencies.some((a) => a.agency_id === agency)) agencies.push([agency, t("admin.new_agency")]);

  return html`<article class="admin-item">
    <p><a href=${href("services")}>← ${t("admin.programs")}</a></p>
    <${ScreenTitle}><span lang=${CONTENT_LANGUAGE}>${creating ? t("admin.new_program") : program.name}</span></${ScreenTitle}>
    ${creating ? null : html`<p class="row"><${ProgramStatus} status=${program.status} />
      <span class="muted">${t("admin.version", { at: program.last_modified ? formatDateTime(program.last_modified) : "—" })}</span></p>`}
    <${SaveOutcome} doc=${doc} done=${done} />
    ${warnings.length ? html`<${Notice} kind="warn"><p>${t("admin.kept_as_given")}</p><ul>${warnings.map((w) => html`<li>${w}</li>`)}</ul></${Notice}>` : null}
    <form class="admin-form" onSubmit=${submit} novalidate>
      <div class="admin-columns">
        <div>
          <${DocField} doc=${doc} path="name" label=${t("admin.name")} maxlength="300" />
          <${DocField} doc=${doc} path="alternate_name" label=${t("admin.alternate_name")} maxlength="300" />
          <${DocField} doc=${doc} path="description" label=${t("admin.description")} type="textarea" rows="4" />
          <${DocField} doc=${doc} path="status" label=${t("admin.status")} hint=${t("admin.status_hint")}
            options=${HSDS_STATUSES.map((s) => [s, t(`hsds.${s.replace(" ", "_")}`)])} />
          <${Field} id="f-organization" label=${t("admin.organization")} error=${doc.refusal.byField.organization}>
            <output id="f-organization" lang=${CONTENT_LANGUAGE}>${program.organization?.name ?? t("admin.none_chosen")}</output>
          </${Field}>
          <${Picker} id="pick-organization" label=${t("admin.choose_organization")} path="/organizations"
            onPick=${(org) => { doc.edit("organization", org); doc.edit("organization_id", org.id); }} render=${(o) => o.name} />
          <${PhoneField} doc=${doc} />
          <${DocField} doc=${doc} path="email" label=${t("form.email")} type="email" maxlength="300" />
          <${DocField} doc=${doc} path="url" label=${t("admin.website")} type="url" maxlength="300" />
        </div>
        <div>
          <${DocField} doc=${doc} path="eligibility_description" label=${t("admin.eligibility")} type="textarea" />
          <div class="row">
            <${DocField} doc=${doc} path="minimum_age" label=${t("admin.minimum_age")} type="number" min="0" max="130" />
            <${DocField} doc=${doc} path="maximum_age" label=${t("admin.maximum_age")} type="number" min="0" max="130" />
          </div>
          <${DocField} doc=${doc} path="x_bridges.agency_id" label=${t("admin.agency")} hint=${t("admin.agency_hint")} options=${agencies} />
          <p><button type="button" class="link" onClick=${() => doc.edit("x_bridges.agency_id", newId())}>${t("admin.new_agency_make")}</button></p>
          <label class="check"><input type="checkbox" checked=${program.x_bridges?.accepting_referrals !== false}
            onChange=${(e) => doc.edit("x_bridges.accepting_referrals", e.currentTarget.checked)} />${t("admin.accepting")}</label>
          <${DocField} doc=${doc} path="x_bridges.capacity_status" label=${t("admin.capacity")}
            options=${CAPACITIES.map((c) => [c, t(`capacity.${c}`)])} />
        </div>
      </div>
      <${Needs} doc=${doc} terms=${choices.terms} />
      <${Places} doc=${doc} />
      <div class="actions sticky-actions">
        <button class="primary" type="submit" disabled=${doc.saving}>${creating ? t("admin.create") : t("admin.save")}</button>
        ${creating
          ? null
          : program.status === "active"
            ? html`<${ConfirmButton} label=${t("admin.retire_program")} question=${t("admin.retire_program_question")}
                onConfirm=${() => save({ ...program, status: "inactive" }, t("admin.retired"))} />`
            : html`<button type="button" onClick=${() => save({ ...program, status: "active" }, t("admin.restored"))}>${t("admin.restore")}</button>`}
      </div>
    </form>
    ${creating ? null : html`<${ProgramHistory} id=${id} version=${program.last_modified} />`}
  </article>`;
}
