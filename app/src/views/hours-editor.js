// Opening hours and holiday closures of a program, as its agency edits them: rows of days with
// an opening and a closing time, and closures from a first to a last day with a reason officers
// read. Each row shows the server's refusal at itself (`errors["hours.1"]`, `["closures.0"]`).
import { t } from "../i18n.js";
import { WEEK, newId } from "../listing.js";
import { Field, html } from "../ui.js";

function HoursRow({ row, index, error, onChange, onRemove }) {
  const id = `hours-${index}`;
  const toggle = (day) => onChange({ ...row, days: row.days.includes(day) ? row.days.filter((d) => d !== day) : [...row.days, day] });
  return html`<fieldset class=${`hours-row${error ? " has-error" : ""}`} aria-describedby=${error ? `${id}-error` : null}>
    <legend>${t("edit.hours_row", { n: index + 1 })}</legend>
    <div class="options days">
      ${WEEK.map((day) => html`<label class="option pill day">
        <input type="checkbox" checked=${row.days.includes(day)} onChange=${() => toggle(day)} />${t(`day.${day}`)}</label>`)}
    </div>
    <div class="row">
      <${Field} id=${`${id}-opens`} label=${t("edit.opens")}>
        <input id=${`${id}-opens`} type="time" required value=${row.opens} onInput=${(e) => onChange({ ...row, opens: e.currentTarget.value })} />
      </${Field}>
      <${Field} id=${`${id}-closes`} label=${t("edit.closes")}>
        <input id=${`${id}-closes`} type="time" required value=${row.closes} onInput=${(e) => onChange({ ...row, closes: e.currentTarget.value })} />
      </${Field}>
      <button type="button" class="link danger" onClick=${onRemove}>${t("edit.remove")}<span class="visually-hidden"> ${t("edit.hours_row", { n: index + 1 })}</span></button>
    </div>
    ${error ? html`<p class="error" id=${`${id}-error`}>${error}</p>` : null}
  </fieldset>`;
}

function ClosureRow({ row, index, error, onChange, onRemove }) {
  const id = `closure-${index}`;
  return html`<fieldset class=${`closure-row${error ? " has-error" : ""}`} aria-describedby=${error ? `${id}-error` : null}>
    <legend>${t("edit.closure_row", { n: index + 1 })}</legend>
    <div class="row">
      <${Field} id=${`${id}-from`} label=${t("edit.from")}>
        <input id=${`${id}-from`} type="date" required value=${row.from} onInput=${(e) => onChange({ ...row, from: e.currentTarget.value })} />
      </${Field}>
      <${Field} id=${`${id}-to`} label=${t("edit.to")}>
        <input id=${`${id}-to`} type="date" value=${row.to} onInput=${(e) => onChange({ ...row, to: e.currentTarget.value })} />
      </${Field}>
      <${Field} id=${`${id}-reason`} label=${t("edit.reason")}>
        <input id=${`${id}-reason`} type="text" maxlength="200" value=${row.reason} onInput=${(e) => onChange({ ...row, reason: e.currentTarget.value })} />
      </${Field}>
      <button type="button" class="link danger" onClick=${onRemove}>${t("edit.remove")}<span class="visually-hidden"> ${t("edit.closure_row", { n: index + 1 })}</span></button>
    </div>
    ${error ? html`<p class="error" id=${`${id}-error`}>${error}</p>` : null}
  </fieldset>`;
}

const replaced = (list, index, value) => list.map((item, i) => (i === index ? value : item));
const removed = (list, index) => list.filter((_, i) => i !== index);

export function HoursEditor({ hours, onChange, errors }) {
  const timezone = hours.hours[0]?.timezone;
  const set = (part) => onChange({ ...hours, ...part });
  return html`<section class="edit-section" aria-labelledby="edit-hours-title">
    <h2 id="edit-hours-title">${t("edit.hours")}</h2>
    <p class="hint">${t("edit.hours_hint")}</p>
    ${errors.hours ? html`<p class="error">${errors.hours}</p>` : null}
    ${hours.hours.map((row, index) => html`<${HoursRow} key=${row.id} row=${row} index=${index} error=${errors[`hours.${index}`]}
      onChange=${(value) => set({ hours: replaced(hours.hours, index, value) })}
      onRemove=${() => set({ hours: removed(hours.hours, index) })} />`)}
    <button type="button" onClick=${() => set({ hours: [...hours.hours, { id: newId(), days: ["MO", "TU", "WE", "TH", "FR"], opens: "09:00", closes: "17:00", timezone }] })}>
      ${t("edit.add_hours")}</button>
    <h2 id="edit-closures-title">${t("edit.closures")}</h2>
    <p class="hint">${t("edit.closures_hint")}</p>
    ${hours.closures.map((row, index) => html`<${ClosureRow} key=${row.id} row=${row} index=${index} error=${errors[`closures.${index}`]}
      onChange=${(value) => set({ closures: replaced(hours.closures, index, value) })}
      onRemove=${() => set({ closures: removed(hours.closures, index) })} />`)}
    <button type="button" onClick=${() => set({ closures: [...hours.closures, { id: newId(), from: "", to: "", reason: "" }] })}>
      ${t("edit.add_closure")}</button>
  </section>`;
}
