// Finding a program: words (typos and sentences welcome, English or Spanish), a need, a place
// (near me or an address), radius, language, age, open now or at a time, accepting. Results come
// first: on a tablet held upright or a phone the filters fold into one line once a search ran;
// held sideways they sit beside the results. Coming back from a program finds the same list at
// the same place. A search that finds nothing offers the filter to loosen. Offline it searches
// what this tablet last saw, by the same rules.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import * as directory from "../directory.js";
import { formatDateTime, formatNumber, formatTime, languageName, t, tOr } from "../i18n.js";
import { href } from "../router.js";
import * as store from "../store.js";
import { Field, Notice, ScreenTitle, announce, html, problemText, useApp } from "../ui.js";
import { ProgramCard } from "./cards.js";

const SEARCH_LANGUAGES = ["en", "es", "vi", "zh", "ru", "ar"];
const REUSE_RESULTS_MS = 10 * 60_000; // coming back within this, the list is shown as it was

/** Add or take out a program for the next referral (its needs are ticked on the form). */
export async function toggleInCart(config, service, terms) {
  const chosen = store.getState().cart.some((p) => p.id === service.id);
  const known = terms.length ? terms : await directory.taxonomy(config); // chosen before they loaded
  store.toggleProgram(store.cartEntry(service, (s) => directory.needsOf(s, known)));
  announce(chosen ? t("cart.removed", { name: service.name }) : t("cart.added", { name: service.name }));
}

function PlacePicker({ filters, update }) {
  const { config } = useApp();
  const [text, setText] = useState(filters.place?.label ?? "");
  const [found, setFound] = useState([]);
  const [status, setStatus] = useState("");

  const lookUp = async (event) => {
    event?.preventDefault();
    if (text.trim().length < 2) return;
    const places = await directory.places(config, text.trim());
    setFound(places);
    setStatus(places.length ? t("place.found", { count: places.length }) : t("place.none"));
  };
  const nearMe = () => {
    if (!navigator.geolocation) return setStatus(t("place.no_geolocation"));
    setStatus(t("place.locating"));
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        update({ place: { lat: pos.coords.latitude, lon: pos.coords.longitude, label: t("place.here") } }, { fold: true });
        setStatus("");
      },
      () => setStatus(t("place.denied")),
      { enableHighAccuracy: false, timeout: 10_000, maximumAge: 300_000 },
    );
  };
  return html`<fieldset class="place">
    <legend>${t("search.where")}</legend>
    <div class="place-row">
      <label class="visually-hidden" for="place-text">${t("place.address")}</label>
      <input id="place-text" type="search" placeholder=${t("place.address")} value=${text} enterkeyhint="search"
        onInput=${(e) => setText(e.currentTarget.value)}
        onKeyDown=${(e) => e.key === "Enter" && lookUp(e)} />
      <button type="button" onClick=${lookUp}>${t("place.find")}</button>
      <button type="button" onClick=${nearMe}>${t("place.near_me")}</button>
    </div>
    <p class="hint" role="status">${status}</p>
    ${found.length
      ? html`<ul class="places">${found.map(
          (p) => html`<li><button type="button" class="link" onClick=${() => {
            update({ place: { lat: p.latitude, lon: p.longitude, label: p.label } }, { fold: true });
            setText(p.label);
            setFound([]);
            setStatus("");
          }}>${p.label}</button></li>`,
        )}</ul>`
      : null}
    ${filters.place
      ? html`<div class="row">
          <p class="chosen-place">${t("place.near", { label: filters.place.label })}
            <button type="button" class="link" onClick=${() => { update({ place: null }); setText(""); }}>${t("common.clear")}</button></p>
          <label class="inline-select" for="radius">${t("search.radius")}
            <select id="radius" class="auto" value=${filters.radiusKm} onChange=${(e) => update({ radiusKm: Number(e.currentTarget.value) })}>
              ${directory.RADII_KM.map((km) => html`<option value=${km}>${t("program.km", { km: formatNumber(km) })}</option>`)}
            </select>
          </label>
        </div>`
      : null}
  </fieldset>`;
}

function dayLabel(offset) {
  if (offset === 0) return t("when.today");
  if (offset === 1) return t("when.tomorrow");
  const day = new Date();
  day.setDate(day.getDate() + offset);
  return new Intl.DateTimeFormat(document.documentElement.lang, { weekday: "long" }).format(day);
}

function WhenOpen({ filters, update }) {
  return html`<fieldset class="when">
    <legend>${t("when.legend")}</legend>
    <div class="options">
      ${["any", "now", "at"].map(
        (when) => html`<label class="option"><input type="radio" name="when" checked=${filters.when === when}
          onChange=${() => update({ when })} /><span>${t(`when.${when}`)}</span></label>`,
      )}
    </div>
    ${filters.when === "at"
      ? html`<div class="row">
          <${Field} id="open-day" label=${t("when.day")}>
            <select id="open-day" value=${filters.openDay} onChange=${(e) => update({ openDay: Number(e.currentTarget.value) })}>
              ${[0, 1, 2, 3, 4, 5, 6].map((offset) => html`<option value=${offset}>${dayLabel(offset)}</option>`)}
            </select>
          </${Field}>
          <${Field} id="open-time" label=${t("when.time")}>
            <input id="open-time" type="time" step="900" value=${filters.openTime}
              onChange=${(e) => e.currentTarget.value && update({ openTime: e.currentTarget.value })} />
          </${Field}>
        </div>`
      : null}
  </fieldset>`;
}

/** The filters in one line: what the results are narrowed by. */
function summary(filters, terms) {
  const parts = [];
  const term = terms.find((x) => x.id === filters.term);
  if (term) parts.push(tOr(`need.${term.code}`, term.name));
  parts.push(filters.place ? t("summary.near", { label: filters.place.label, km: formatNumber(filters.radiusKm) }) : t("summary.anywhere"));
  if (filters.language) parts.push(t("summary.language", { language: languageName(filters.language) }));
  if (filters.age !== "") parts.push(t("summary.age", { age: filters.age }));
  if (filters.when === "now") parts.push(t("when.now"));
  if (filters.when === "at") {
    const at = new Date(directory.openAtInstant(filters));
    parts.push(t("summary.open_at", { day: dayLabel(filters.openDay), time: formatTime(at) }));
  }
  if (filters.accepting) parts.push(t("summary.accepting"));
  return parts.join(" · ");
}

function Relaxations({ filters, offline, apply }) {
  const { config } = useApp();
  const [found, setFound] = useState(null);
  useEffect(() => {
    let live = true;
    directory.relaxations(config, filters, offline).then((r) => live && setFound(r), () => live && setFound([]));
    return () => {
      live = false;
    };
  }, [filters, offline]);
  if (found === null) return null;
  return html`<div class="relax" role="group" aria-labelledby="relax-title">
    <p id="relax-title"><strong>${t("relax.title")}</strong></p>
    ${found.length
      ? html`<ul class="plain">${found.map(
          (r) => html`<li><span>${t(`relax.${r.kind}`, { count: formatNumber(r.total), km: formatNumber(filters.radiusKm) })}</span>
            <button type="button" onClick=${() => apply(r.filters)}>${t(`relax.${r.kind}_button`, { km: formatNumber(r.km ?? 0) })}</button></li>`,
        )}</ul>`
      : html`<p>${t("relax.nothing")}</p>`}
  </div>`;
}

export function SearchScreen() {
  const { config } = useApp();
  const cart = store.useStore((s) => s.cart);
  const kept = store.getState().search;
  const reuse = kept?.result && Date.now() - kept.at < REUSE_RESULTS_MS;
  const [filters, setFilters] = useState(kept?.filters ?? directory.NEW_FILTERS);
  const [folded, setFolded] = useState(kept?.folded ?? true);
  const [terms, setTerms] = useState(directory.knownTerms);
  const [result, setResult] = useState(reuse ? kept.result : null);
  const [page, setPage] = useState(reuse ? kept.page : 1);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [text, setText] = useState(filters.text);
  const skipFirstRun = useRef(Boolean(reuse));

  const update = (change, { fold = false } = {}) => {
    setFilters((old) => ({ ...old, ...change }));
    if (fold) setFolded(true);
  };

  useEffect(() => {
    directory.taxonomy(config).then(setTerms);
  }, []);

  // back from a program: the same list, scrolled where it was
  useLayoutEffect(() => {
    window.scrollTo(0, reuse ? (kept.scrollY ?? 0) : 0);
    return () => store.rememberSearch({ scrollY: window.scrollY }); // before the next screen draws
  }, []);
  useEffect(() => {
    store.rememberSearch({ filters, folded, result, page, at: Date.now() });
  }, [filters, folded, result, page]);

  const latest = useRef(0);
  const run = async (nextPage = 1) => {
    const asked = (latest.current += 1);
    setBusy(true);
    setError(null);
    try {
      const found = await directory.search(config, filters, nextPage);
      if (asked !== latest.current) return; // a newer search was asked meanwhile: it wins
      setResult((old) => (nextPage > 1 && old ? { ...found, items: [...old.items, ...found.items] } : found));
      setPage(nextPage);
      announce(t("search.found", { count: formatNumber(found.total) }));
    } catch (e) {
      if (asked === latest.current) setError(e);
    } finally {
      if (asked === latest.current) setBusy(false);
    }
  };

  // any filter change searches at once; the words search on Enter / the button
  useEffect(() => {
    if (skipFirstRun.current) {
      skipFirstRun.current = false;
      return;
    }
    run(1);
  }, [filters]);

  const submit = (event) => {
    event.preventDefault();
    setFolded(true);
    if (text === filters.text) run(1);
    else update({ text });
  };
  const chosen = new Set(cart.map((p) => p.id));
  const needs = terms.filter((term) => !term.parent_id);
  const elsewhere = store.useStore((s) => s.search?.elsewhere ?? null);
  const shownItems = (result?.items ?? []).filter((service) => service.id !== elsewhere?.not);

  return html`<section class=${`search${folded ? " folded" : ""}`}>
    <div class="search-head">
      <${ScreenTitle} keepScroll>${t("search.title")}</${ScreenTitle}>
      <form onSubmit=${submit} role="search" class="searchbar">
        <label for="search-text" class="visually-hidden">${t("search.label")}</label>
        <input id="search-text" type="search" value=${text} placeholder=${t("search.placeholder")}
          aria-label=${t("search.label")} enterkeyhint="search" onInput=${(e) => setText(e.currentTarget.value)} />
        <button class="primary" type="submit">${t("search.go")}</button>
      </form>
      <a class="skip-link" href="#results" onClick=${(e) => {
        e.preventDefault(); // the hash is the router's: move focus instead
        document.getElementById("results")?.focus();
      }}>${t("search.skip_to_results")}</a>
    </div>
    <div class="chips" role="group" aria-label=${t("search.needs")}>
      ${needs.map(
        (term) => html`<button type="button" class="chip" aria-pressed=${filters.term === term.id ? "true" : "false"}
          onClick=${() => update({ term: filters.term === term.id ? null : term.id })}>${tOr(`need.${term.code}`, term.name)}</button>`,
      )}
    </div>
    <div class="search-body">
      <div class="filters">
        <div class="filter-summary">
          <p><span class="visually-hidden">${t("summary.label")} </span>${summary(filters, terms)}</p>
          <button type="button" aria-expanded=${folded ? "false" : "true"} aria-controls="filter-panel"
            onClick=${() => setFolded(!folded)}>${folded ? t("summary.change") : t("summary.done")}</button>
        </div>
        <div id="filter-panel" class="filter-panel">
          <${PlacePicker} filters=${filters} update=${update} />
          <fieldset class="more">
            <legend>${t("search.more")}</legend>
            <div class="row">
              <${Field} id="language" label=${t("search.language")}>
                <select id="language" value=${filters.language} onChange=${(e) => update({ language: e.currentTarget.value })}>
                  <option value="">${t("search.any_language")}</option>
                  ${SEARCH_LANGUAGES.map((code) => html`<option value=${code}>${languageName(code)}</option>`)}
                </select>
              </${Field}>
              <${Field} id="age" label=${t("search.age")}>
                <input id="age" class="narrow" inputmode="numeric" maxlength="3" value=${filters.age}
                  onChange=${(e) => update({ age: e.currentTarget.value.replace(/\D/g, "") })} />
              </${Field}>
            </div>
            <${WhenOpen} filters=${filters} update=${update} />
            <label class="check"><input type="checkbox" checked=${filters.accepting}
              onChange=${(e) => update({ accepting: e.currentTarget.checked })} /> ${t("search.accepting")}</label>
          </fieldset>
          <button type="button" class="primary show-results" onClick=${() => {
            setFolded(true);
            document.getElementById("results")?.focus();
          }}>${result ? t("summary.show", { count: formatNumber(result.total) }) : t("summary.done")}</button>
        </div>
      </div>
      <div class="results" id="results" tabindex="-1" aria-labelledby="result-count" aria-busy=${busy ? "true" : "false"}>
        ${elsewhere
          ? html`<${Notice}>${t("search.elsewhere", { family: elsewhere.family, program: elsewhere.notName ?? "" })}
              <button type="button" class="link" onClick=${() => store.rememberSearch({ elsewhere: null })}>${t("common.dismiss")}</button></${Notice}>`
          : null}
        ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
        ${result?.offline
          ? html`<${Notice} kind="warn">${result.asOf ? t("search.offline_as_of", { date: formatDateTime(result.asOf) }) : t("search.offline_empty")}</${Notice}>`
          : null}
        <p class="result-count" id="result-count" aria-live="polite">
          ${busy && !result ? t("common.loading") : result ? t("search.found", { count: formatNumber(result.total) }) : ""}</p>
        ${result && result.total === 0 && !busy
          ? html`<${Relaxations} filters=${filters} offline=${result.offline} apply=${(relaxed) => {
              setText(relaxed.text);
              setFilters(relaxed);
            }} />`
          : null}
        <ul class="cards">
          ${shownItems.map(
            (service) => html`<${ProgramCard} key=${service.id} service=${service} chosen=${chosen.has(service.id)}
              onToggle=${(s) => toggleInCart(config, s, terms)} />`,
          )}
        </ul>
        ${result && !result.lastPage ? html`<button onClick=${() => run(page + 1)} disabled=${busy}>${t("search.more_results")}</button>` : null}
      </div>
    </div>
    ${cart.length
      ? html`<div class="cartbar"><span>${t("cart.count", { count: cart.length })}</span>
          <a class="button primary" href=${href("refer")}>${t("cart.start")}</a></div>`
      : null}
  </section>`;
}
