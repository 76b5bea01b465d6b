// Finding a program: words (typos welcome), a need, a place (near me or an address), radius,
// language, age, open now, accepting. Offline it searches what this tablet last saw.
import { useEffect, useRef, useState } from "preact/hooks";
import * as directory from "../directory.js";
import { formatDateTime, t, tOr } from "../i18n.js";
import { href } from "../router.js";
import { Field, Notice, ScreenTitle, announce, html, problemText, useApp } from "../ui.js";
import { ProgramCard } from "./cards.js";

// Kept while the app runs, so coming back from a program page finds the same search.
const NEW_SEARCH = { text: "", term: null, place: null, radiusKm: 10, language: "", age: "", openNow: false, accepting: true };
let remembered = NEW_SEARCH;
export function forgetSearch() {
  remembered = NEW_SEARCH;
}

export function toggleInCart(cart, setCart, service) {
  const has = cart.some((p) => p.id === service.id);
  setCart(has ? cart.filter((p) => p.id !== service.id) : [...cart, { id: service.id, name: service.name }]);
  announce(has ? t("cart.removed", { name: service.name }) : t("cart.added", { name: service.name }));
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
        update({ place: { lat: pos.coords.latitude, lon: pos.coords.longitude, label: t("place.here") } });
        setStatus("");
      },
      () => setStatus(t("place.denied")),
      { enableHighAccuracy: false, timeout: 10_000, maximumAge: 300_000 },
    );
  };
  return html`<fieldset class="place">
    <legend>${t("search.where")}</legend>
    <div class="row">
      <button type="button" onClick=${nearMe}>${t("place.near_me")}</button>
      <label class="visually-hidden" for="place-text">${t("place.address")}</label>
      <input id="place-text" type="search" placeholder=${t("place.address")} value=${text}
        onInput=${(e) => setText(e.currentTarget.value)}
        onKeyDown=${(e) => e.key === "Enter" && lookUp(e)} />
      <button type="button" onClick=${lookUp}>${t("place.find")}</button>
      <label for="radius">${t("search.radius")}</label>
      <select id="radius" value=${filters.radiusKm} onChange=${(e) => update({ radiusKm: Number(e.currentTarget.value) })}>
        ${[2, 5, 10, 25, 50].map((km) => html`<option value=${km}>${t("program.km", { km })}</option>`)}
      </select>
    </div>
    <p class="hint" role="status">${status}</p>
    ${found.length
      ? html`<ul class="places">${found.map(
          (p) => html`<li><button type="button" class="link" onClick=${() => {
            update({ place: { lat: p.latitude, lon: p.longitude, label: p.label } });
            setText(p.label);
            setFound([]);
          }}>${p.label}</button></li>`,
        )}</ul>`
      : null}
    ${filters.place
      ? html`<p class="chosen-place">${t("place.near", { label: filters.place.label })}
          <button type="button" class="link" onClick=${() => { update({ place: null }); setText(""); }}>${t("common.clear")}</button></p>`
      : null}
  </fieldset>`;
}

export function SearchScreen() {
  const { config, cart, setCart } = useApp();
  const [filters, setFilters] = useState(remembered);
  const [terms, setTerms] = useState([]);
  const [result, setResult] = useState(null);
  const [page, setPage] = useState(1);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const update = (change) => setFilters((old) => (remembered = { ...old, ...change }));

  useEffect(() => {
    directory.taxonomy(config).then((all) => setTerms(all.filter((term) => !term.parent_id)));
  }, []);

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
      announce(t("search.found", { count: found.total }));
    } catch (e) {
      if (asked === latest.current) setError(e);
    } finally {
      if (asked === latest.current) setBusy(false);
    }
  };

  // a change of any filter but the words searches at once; words search on Enter / the button
  useEffect(() => {
    run(1);
  }, [filters.term, filters.place, filters.radiusKm, filters.openNow, filters.accepting, filters.language]);

  const submit = (event) => {
    event.preventDefault();
    run(1);
  };
  const chosen = new Set(cart.map((p) => p.id));

  return html`<section class="search">
    <${ScreenTitle}>${t("search.title")}</${ScreenTitle}>
    <form onSubmit=${submit} role="search">
      <div class="searchbar">
        <label for="search-text">${t("search.label")}</label>
        <div class="row">
          <input id="search-text" type="search" value=${filters.text} placeholder=${t("search.placeholder")}
            onInput=${(e) => update({ text: e.currentTarget.value })} />
          <button class="primary" type="submit">${t("search.go")}</button>
        </div>
      </div>
      <div class="chips" role="group" aria-label=${t("search.needs")}>
        ${terms.map(
          (term) => html`<button type="button" class="chip" aria-pressed=${filters.term === term.id ? "true" : "false"}
            onClick=${() => update({ term: filters.term === term.id ? null : term.id })}>${tOr(`need.${term.code}`, term.name)}</button>`,
        )}
      </div>
      <${PlacePicker} filters=${filters} update=${update} />
      <fieldset class="more">
        <legend>${t("search.more")}</legend>
        <div class="row">
          <${Field} id="language" label=${t("search.language")}>
            <select id="language" value=${filters.language} onChange=${(e) => { update({ language: e.currentTarget.value }); }}>
              <option value="">${t("search.any_language")}</option>
              ${["en", "es", "vi", "zh", "ru", "ar"].map((code) => html`<option value=${code}>${t(`lang.${code}`)}</option>`)}
            </select>
          </${Field}>
          <${Field} id="age" label=${t("search.age")}>
            <input id="age" type="number" min="0" max="130" inputmode="numeric" value=${filters.age}
              onInput=${(e) => update({ age: e.currentTarget.value })} />
          </${Field}>
          <label class="check"><input type="checkbox" checked=${filters.openNow}
            onChange=${(e) => update({ openNow: e.currentTarget.checked })} /> ${t("search.open_now")}</label>
          <label class="check"><input type="checkbox" checked=${filters.accepting}
            onChange=${(e) => update({ accepting: e.currentTarget.checked })} /> ${t("search.accepting")}</label>
        </div>
      </fieldset>
    </form>
    ${cart.length
      ? html`<div class="cartbar"><span>${t("cart.count", { count: cart.length })}</span>
          <a class="button primary" href=${href("refer")}>${t("cart.start")}</a></div>`
      : null}
    ${error ? html`<${Notice} kind="error">${problemText(error)}</${Notice}>` : null}
    ${result?.offline
      ? html`<${Notice} kind="warn">${result.asOf ? t("search.offline_as_of", { date: formatDateTime(result.asOf) }) : t("search.offline_empty")}</${Notice}>`
      : null}
    <p class="result-count" aria-live="polite">${busy ? t("common.loading") : result ? t("search.found", { count: result.total }) : ""}</p>
    <ul class="cards">
      ${(result?.items ?? []).map(
        (service) => html`<${ProgramCard} key=${service.id} service=${service} chosen=${chosen.has(service.id)}
          onToggle=${(s) => toggleInCart(cart, setCart, s)} />`,
      )}
    </ul>
    ${result && !result.lastPage ? html`<button onClick=${() => run(page + 1)} disabled=${busy}>${t("search.more_results")}</button>` : null}
  </section>`;
}
