// Admins' organizations, locations and taxonomy: listed and searched, created and edited (saved
// with the ETag read; every program embedding the object follows, and the screen says how many),
// an organization retired by its programs' HSDS status, a location or a term removed once no
// program points at it (the API says how many still do). What uses each is listed with it.
import { useEffect, useState } from "preact/hooks";
import { call, withQuery } from "../api.js";
import { CONTENT_LANGUAGE } from "../directory.js";
import { t } from "../i18n.js";
import { href, navigate } from "../router.js";
import { Notice, ScreenTitle, html, problemText, useApp } from "../ui.js";
import {
  ConfirmButton,
  DocField,
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

const RETIRE_STATUSES = ["inactive", "defunct", "temporarily closed"];

/** What each kind of object is: where the API keeps it, a new one, its fields, what uses it. */
const KINDS = {
  organizations: {
    path: "/organizations",
    blank: () => ({ id: newId(), name: "" }),
    fields: [
      ["name", "admin.name", { maxlength: 300 }],
      ["alternate_name", "admin.alternate_name", { maxlength: 300 }],
      ["description", "admin.description", { type: "textarea" }],
      ["email", "form.email", { type: "email", maxlength: 300 }],
      ["website", "admin.website", { type: "url", maxlength: 300 }],
    ],
    users: (config, id) => [withQuery(config.directory_url, "/services", { organization_id: id, per_page: 100, sort: "name" }), (s) => s],
  },
  locations: {
    path: "/locations",
    blank: () => ({ id: newId(), name: "", location_type: "physical" }),
    fields: [
      ["name", "admin.name", { maxlength: 300 }],
      ["description", "admin.description", { type: "textarea" }],
      ["addresses.0.address_1", "admin.address", { maxlength: 300 }],
      ["addresses.0.city", "admin.city", { maxlength: 300 }],
      ["addresses.0.state_province", "admin.state", { maxlength: 300 }],
      ["addresses.0.postal_code", "admin.postal_code", { maxlength: 300 }],
      ["addresses.0.country", "admin.country", { maxlength: 300, hint: "admin.country_hint" }],
      ["latitude", "admin.latitude", { type: "number", step: "any", min: -90, max: 90 }],
      ["longitude", "admin.longitude", { type: "number", step: "any", min: -180, max: 180 }],
      ["x_bridges.timezone", "admin.timezone", { maxlength: 64, hint: "admin.timezone_hint" }],
    ],
    // an address is written whole, with its own id, or not at all
    prepare: (location) => {
      const [address, ...others] = location.addresses ?? [];
      if (!address) return location;
      const typed = Object.entries(address).some(([k, v]) => k !== "id" && k !== "address_type" && v);
      const addresses = typed ? [{ id: newId(), ...address }, ...others] : others;
      return { ...location, addresses };
    },
    users: (config, id) => [withQuery(config.directory_url, "/service_at_locations", { location_id: id, per_page: 100 }), (sal) => sal.service],
    removable: true,
  },
  taxonomy: {
    path: "/taxonomy_terms",
    blank: () => ({ id: newId(), name: "" }),
    fields: [
      ["name", "admin.name", { maxlength: 300 }],
      ["x_bridges.names.es", "admin.name_es", { maxlength: 300, lang: "es" }],
      ["code", "admin.code", { maxlength: 300, hint: "admin.code_hint" }],
      ["description", "admin.description", { type: "textarea" }],
      ["parent_id", "admin.parent", { parents: true }],
    ],
    users: (config, id) => [withQuery(config.directory_url, "/services", { taxonomy_term_id: id, per_page: 100, sort: "name" }), (s) => s],
    removable: true,
  },
};

function Listed({ kind, title, addLabel, searchLabel, columns }) {
  const { config } = useApp();
  const list = useHsdsList(config.directory_url, KINDS[kind].path);
  return html`<${ListScreen} title=${title} addTo=${kind} addLabel=${addLabel} list=${list} searchLabel=${searchLabel}>
    ${(items) => html`<${Table} caption=${title} items=${items} linkOf=${(item) => href(kind, item.id)} columns=${columns} />`}
  </${ListScreen}>`;
}

const named = (text) => html`<span lang=${CONTENT_LANGUAGE}>${text ?? ""}</span>`;

export function OrganizationsScreen() {
  return html`<${Listed} kind="organizations" title=${t("admin.organizations")} addLabel=${t("admin.new_organization")}
    searchLabel=${t("admin.search_organizations")}
    columns=${[[t("admin.name"), (o) => named(o.name)], [t("admin.website"), (o) => o.website ?? ""], [t("form.email"), (o) => o.email ?? ""]]} />`;
}

export function LocationsScreen() {
  const address = (l) => [l.addresses?.[0]?.address_1, l.addresses?.[0]?.city].filter(Boolean).join(", ");
  return html`<${Listed} kind="locations" title=${t("admin.locations")} addLabel=${t("admin.new_location")}
    searchLabel=${t("admin.search_locations")}
    columns=${[[t("admin.name"), (l) => named(l.name || l.id)], [t("admin.address"), (l) => named(address(l))], [t("admin.timezone"), (l) => l.x_bridges?.timezone ?? ""]]} />`;
}

export function TermsScreen() {
  const terms = useTerms();
  const parent = (term) => terms.find((p) => p.id === term.parent_id)?.name ?? "";
  return html`<${Listed} kind="taxonomy" title=${t("admin.taxonomy")} addLabel=${t("admin.new_term")}
    searchLabel=${t("admin.search_terms")}
    columns=${[[t("admin.name"), (term) => named(term.name)], [t("admin.code"), (term) => html`<code>${term.code ?? ""}</code>`], [t("admin.parent"), (term) => named(parent(term))], [t("admin.name_es"), (term) => html`<span lang="es">${term.x_bridges?.names?.es ?? ""}</span>`]]} />`;
}

function useTerms() {
  const { config } = useApp();
  const [terms, setTerms] = useState([]);
  useEffect(() => {
    call(withQuery(config.directory_url, "/taxonomy_terms", { per_page: 200 })).then(({ data }) => setTerms(data.contents), () => setTerms([]));
  }, []);
  return terms;
}

/** The programs that embed an object (they change with it). */
function UsedBy({ kind, id, version }) {
  const { config } = useApp();
  const [programs, setPrograms] = useState(null);
  useEffect(() => {
    const [url, program] = KINDS[kind].users(config, id);
    call(url).then(({ data }) => setPrograms(data.contents.map(program)), () => setPrograms([]));
  }, [id, version]);
  if (!programs) return null;
  return html`<section aria-labelledby="used-by">
    <h2 id="used-by">${t("admin.used_by", { count: programs.length })}</h2>
    ${programs.length
      ? html`<ul class="plain used-by">${programs.map(
          (p) => html`<li><a href=${href("services", p.id)}>${named(p.name)}</a>${p.status ? html` <${ProgramStatus} status=${p.status} />` : null}</li>`,
        )}</ul>`
      : html`<p class="muted">${t("admin.used_by_none")}</p>`}
  </section>`;
}

function Retire({ id, onRetired }) {
  const { config, session } = useApp();
  const [status, setStatus] = useState("inactive");
  const [error, setError] = useState(null);
  const retire = async () => {
    try {
      const { data } = await call(`${config.directory_url}/organizations/${id}/retire`, {
        method: "POST",
        token: session.token,
        body: { status },
      });
      setError(null);
      onRetired(data.retired);
    } catch (e) {
      setError(e);
    }
  };
  return html`<section class="admin-retire" aria-labelledby="retire-title">
    <h2 id="retire-title">${t("admin.retire_organization")}</h2>
    <p class="hint">${t("admin.retire_organization_hint")}</p>
    <label for="retire-status">${t("admin.retire_as")}</label>
    <select id="retire-status" class="auto" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
      ${RETIRE_STATUSES.map((s) => html`<option value=${s}>${t(`hsds.${s.replace(" ", "_")}`)}</option>`)}
    </select>
    <${ConfirmButton} label=${t("admin.retire_organization")} question=${t("admin.retire_organization_question")} onConfirm=${retire} />
    ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
  </section>`;
}

function EditedScreen({ kind, id, listTitle, newTitle }) {
  const { config, session } = useApp();
  const spec = KINDS[kind];
  const creating = id === "new";
  const url = (objectId) => `${config.directory_url}${spec.path}/${encodeURIComponent(objectId)}`;
  const doc = useEditedDocument(
    () => (creating ? Promise.resolve({ document: spec.blank(), etag: null }) : readDocument(url(id), session.token)),
    spec.fields.map(([path]) => path),
    [kind, id],
  );
  const terms = useTerms();
  const [done, setDone] = useState(null);
  const [version, setVersion] = useState(0);
  if (doc.loadError) return html`<${Notice} kind="error">${problemText(doc.loadError)}</${Notice}>`;
  if (!doc.document) return html`<p>${t("common.loading")}</p>`;

  const submit = async (event) => {
    event.preventDefault();
    const body = spec.prepare ? spec.prepare(doc.document) : doc.document;
    let rewritten = 0;
    let warnings = [];
    const saved = await doc.save(async (_, etag) => {
      const written = await writeDocument(url(body.id), { token: session.token, body, etag });
      rewritten = Number(written.headers.get("Bridges-Programs-Rewritten") ?? 0);
      warnings = warningsOf(written.headers);
      return written;
    }, t("admin.saved"));
    if (!saved) return;
    setDone([t("admin.saved_programs", { count: rewritten }), ...warnings].join(" "));
    setVersion(version + 1);
    if (creating) navigate(kind, body.id);
  };
  const remove = async () => {
    const removed = await doc.save((_, etag) => writeDocument(url(id), { token: session.token, method: "DELETE", etag }), t("admin.removed"));
    if (removed) navigate(kind);
  };
  const parents = [["", t("admin.no_parent")], ...terms.filter((term) => term.id !== id).map((term) => [term.id, term.name])];
  const title = creating ? newTitle : doc.document.name || doc.document.id;
  return html`<article class="admin-item">
    <p><a href=${href(kind)}>← ${listTitle}</a></p>
    <${ScreenTitle}><span lang=${creating ? null : CONTENT_LANGUAGE}>${title}</span></${ScreenTitle}>
    <${SaveOutcome} doc=${doc} done=${done} />
    <form class="admin-form" onSubmit=${submit} novalidate>
      <div class="admin-columns">
        ${spec.fields.map(([path, label, { hint, parents: isParent, ...props }]) =>
          html`<${DocField} doc=${doc} path=${path} label=${t(label)} hint=${hint ? t(hint) : null}
            options=${isParent ? parents : undefined} ...${props} />`,
        )}
      </div>
      <div class="actions">
        <button class="primary" type="submit" disabled=${doc.saving}>${creating ? t("admin.create") : t("admin.save")}</button>
        ${!creating && spec.removable
          ? html`<${ConfirmButton} label=${t("admin.remove")} question=${t("admin.remove_question")} onConfirm=${remove} />`
          : null}
      </div>
    </form>
    ${creating ? null : html`<${UsedBy} kind=${kind} id=${id} version=${version} />`}
    ${kind === "organizations" && !creating
      ? html`<${Retire} id=${id} onRetired=${(count) => { setDone(t("admin.retired_programs", { count })); setVersion(version + 1); }} />`
      : null}
  </article>`;
}

export function OrganizationScreen({ id }) {
  return html`<${EditedScreen} kind="organizations" id=${id} listTitle=${t("admin.organizations")} newTitle=${t("admin.new_organization")} />`;
}

export function LocationScreen({ id }) {
  return html`<${EditedScreen} kind="locations" id=${id} listTitle=${t("admin.locations")} newTitle=${t("admin.new_location")} />`;
}

export function TermScreen({ id }) {
  return html`<${EditedScreen} kind="taxonomy" id=${id} listTitle=${t("admin.taxonomy")} newTitle=${t("admin.new_term")} />`;
}
