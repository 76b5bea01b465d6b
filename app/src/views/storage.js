// What this tablet holds: whether the browser promised to keep it, how much space it uses, and
// the oldest referral still waiting to be sent.
import { useEffect, useState } from "preact/hooks";
import { formatDateTime, formatNumber, t } from "../i18n.js";
import { Notice, ScreenTitle, html, useApp } from "../ui.js";
import { useOutbox } from "./shell.js";

const megabytes = (bytes) => formatNumber(bytes / 1_048_576, 1);

export function StorageScreen() {
  const { session, storage } = useApp();
  const items = useOutbox(session.user.id);
  const [persisted, setPersisted] = useState(null);
  const [estimate, setEstimate] = useState(null);

  const read = async () => {
    setPersisted(navigator.storage?.persisted ? await navigator.storage.persisted() : false);
    setEstimate(navigator.storage?.estimate ? await navigator.storage.estimate() : null);
  };
  useEffect(() => {
    read();
  }, [items.length]);

  const ask = async () => {
    if (navigator.storage?.persist) await navigator.storage.persist();
    read();
  };
  const unsent = items.filter((i) => i.state === "waiting" || i.state === "sent");
  const refused = items.filter((i) => i.state === "refused");
  return html`<section>
    <${ScreenTitle}>${t("storage.title")}</${ScreenTitle}>
    ${storage !== "ok" ? html`<${Notice} kind="error">${t("storage.unwritable")}</${Notice}>` : null}
    <dl class="facts wide" id="storage-panel">
      <div><dt>${t("storage.persisted")}</dt><dd data-persisted=${String(persisted)}>
        ${persisted === null ? "…" : persisted ? t("storage.persisted_yes") : t("storage.persisted_no")}
        ${persisted === false ? html` <button onClick=${ask}>${t("storage.ask")}</button>` : null}
      </dd></div>
      <div><dt>${t("storage.used")}</dt><dd>${estimate ? t("storage.used_of", { used: megabytes(estimate.usage ?? 0), quota: megabytes(estimate.quota ?? 0) }) : "—"}</dd></div>
      <div><dt>${t("storage.unsent")}</dt><dd data-unsent=${unsent.length}>${unsent.length}</dd></div>
      <div><dt>${t("storage.oldest")}</dt><dd>${unsent.length ? formatDateTime(unsent[0].created_at) : "—"}</dd></div>
      <div><dt>${t("storage.refused")}</dt><dd>${refused.length}</dd></div>
    </dl>
    <p class="hint">${t("storage.explain")}</p>
  </section>`;
}
