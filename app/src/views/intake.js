// A program's intake, changed in a tap: accepting referrals, a waiting list, or not accepting,
// with an optional "until" day (it reopens by itself that day) and a note for officers.
// Accepting saves at once; the other two ask for their day and note first. The server's
// refusal lands at its field.
import { useState } from "preact/hooks";
import { Problem } from "../api.js";
import { t } from "../i18n.js";
import { INTAKES, intakeOf, setIntake } from "../listing.js";
import { Field, announce, html, problemText, useApp } from "../ui.js";

const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

export function IntakeForm({ program, onSaved }) {
  const { config, session } = useApp();
  const current = intakeOf(program.service);
  const [draft, setDraft] = useState(current);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState({});
  const id = (name) => `intake-${program.service.id}-${name}`;
  const changed = draft.state !== current.state || draft.until !== current.until || draft.note !== current.note;

  const save = async (chosen) => {
    setBusy(true);
    setErrors({});
    try {
      const saved = await setIntake(config, session, program.service.id, chosen);
      onSaved(saved);
      setDraft(intakeOf(saved.service));
      announce(t("intake.saved", { name: saved.service.name, state: t(`intake.${chosen.state}`) }));
    } catch (error) {
      const found = {};
      for (const e of error instanceof Problem ? error.problem.errors ?? [] : []) {
        const field = (e.location ?? []).at(-1);
        found[field === "capacity_note" ? "note" : field === "capacity_until" ? "until" : "form"] = e.message;
      }
      setErrors(Object.keys(found).length ? found : { form: problemText(error) });
    } finally {
      setBusy(false);
    }
  };

  const choose = (state) => {
    const next = { ...draft, state };
    setDraft(next);
    if (state === "accepting" && current.state !== "accepting") save({ state, until: "", note: "" });
  };

  return html`<form class="intake" onSubmit=${(e) => { e.preventDefault(); save(draft); }}>
    <fieldset>
      <legend>${t("intake.legend")}</legend>
      <div class="options intake-options">
        ${INTAKES.map((state) => html`<label class=${`option pill intake-${state}`}>
          <input type="radio" name=${id("state")} value=${state} checked=${draft.state === state}
            disabled=${busy} onChange=${() => choose(state)} />
          ${t(`intake.${state}`)}</label>`)}
      </div>
      ${draft.state !== "accepting"
        ? html`<div class="row">
            <${Field} id=${id("until")} label=${t("intake.until")} hint=${t("intake.until_hint")} error=${errors.until}>
              <input id=${id("until")} type="date" min=${tomorrow()} value=${draft.until}
                onInput=${(e) => setDraft({ ...draft, until: e.currentTarget.value })} />
            </${Field}>
            <${Field} id=${id("note")} label=${t("intake.note")} hint=${t("intake.note_hint")} error=${errors.note}>
              <input id=${id("note")} type="text" maxlength="300" value=${draft.note}
                onInput=${(e) => setDraft({ ...draft, note: e.currentTarget.value })} />
            </${Field}>
          </div>
          <button type="submit" class="primary" disabled=${busy || !changed}>${t("intake.save")}</button>`
        : null}
      ${errors.form ? html`<p class="error" role="alert">${errors.form}</p>` : null}
    </fieldset>
  </form>`;
}
