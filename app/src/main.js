// Entry: language, configuration, storage checks, the service worker, then the app.
import { render } from "preact";
import { App } from "./app.js";
import { loadConfig } from "./config.js";
import { checkWritable } from "./db.js";
import { initLanguage } from "./i18n.js";
import { registerServiceWorker } from "./updates.js";
import { html } from "./ui.js";
import "./styles.css";

async function start() {
  initLanguage();
  // screens put back their own scroll position (search: where its list was); the browser's
  // own restoring on Back would move the page before a screen could note where it was
  if ("scrollRestoration" in history) history.scrollRestoration = "manual";
  const [config, storage] = await Promise.all([
    loadConfig(),
    checkWritable().then(
      () => "ok",
      (error) => error?.message || "unwritable",
    ),
  ]);
  const root = document.getElementById("app");
  root.textContent = ""; // the boot message goes; the app takes the page
  render(html`<${App} config=${config} storage=${storage} />`, root);
  registerServiceWorker();
}

start();
