// Which screens each role has: the routes it may open (one screen for the list, one for an
// item when the route names an id), the order of its menu, and where it starts. The app shows
// only what a role's token may use; the server decides all the same (every route is checked).
// Admins' and ops' screens are loaded when first opened: an officer's tablet never pays for them.
import { useEffect, useState } from "preact/hooks";
import { t } from "./i18n.js";
import { html } from "./ui.js";
import { ListingConfirmScreen } from "./views/confirm.js";
import { InboxReferralScreen, InboxScreen } from "./views/inbox.js";
import { MyReferralsScreen } from "./views/mine.js";
import { ProgramScreen } from "./views/program.js";
import { ProgramEditScreen } from "./views/program-edit.js";
import { OurProgramsScreen } from "./views/programs.js";
import { ReferScreen } from "./views/refer.js";
import { ReferralScreen } from "./views/referral.js";
import { SearchScreen } from "./views/search.js";
import { StorageScreen } from "./views/storage.js";

/** A screen of a module loaded on first use (`load` imports it; `name` is its export). */
function later(load, name) {
  let loaded = null;
  return function Later(props) {
    const [Screen, setScreen] = useState(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (loaded) return;
      load().then(
        (module) => setScreen(() => (loaded = module[name])),
        () => setFailed(true), // offline before the screen was ever loaded (the SW precaches it after)
      );
    }, []);
    if (failed) return html`<p class="panel">${t("problem.unreachable")}</p>`;
    return Screen ? html`<${Screen} ...${props} />` : html`<p>${t("common.loading")}</p>`;
  };
}

const adminPrograms = () => import("./views/admin-programs.js");
const adminDirectory = () => import("./views/admin-directory.js");
const adminImport = () => import("./views/admin-import.js");
const adminAgencies = () => import("./views/admin-agencies.js");
const opsFlow = () => import("./views/ops-flow.js");
const opsFailures = () => import("./views/ops-failures.js");
const opsEndpoints = () => import("./views/ops-endpoints.js");

/** route name -> { list: screen, item: screen for `#/<name>/<id>` } */
export const ROLES = {
  officer: {
    menu: ["search", "refer", "mine", "storage"],
    start: "search",
    routes: {
      search: { list: SearchScreen },
      program: { item: ProgramScreen },
      refer: { list: ReferScreen },
      mine: { list: MyReferralsScreen, item: ReferralScreen },
      storage: { list: StorageScreen },
    },
  },
  agency_staff: {
    menu: ["inbox", "programs"],
    start: "inbox",
    routes: {
      inbox: { list: InboxScreen, item: InboxReferralScreen },
      programs: { list: OurProgramsScreen, item: ProgramEditScreen },
    },
  },
  admin: {
    menu: ["services", "organizations", "locations", "taxonomy", "import", "agencies"],
    start: "services",
    routes: {
      services: { list: later(adminPrograms, "ProgramsScreen"), item: later(adminPrograms, "ProgramScreen") },
      organizations: {
        list: later(adminDirectory, "OrganizationsScreen"),
        item: later(adminDirectory, "OrganizationScreen"),
      },
      locations: { list: later(adminDirectory, "LocationsScreen"), item: later(adminDirectory, "LocationScreen") },
      taxonomy: { list: later(adminDirectory, "TermsScreen"), item: later(adminDirectory, "TermScreen") },
      import: { list: later(adminImport, "ImportScreen") },
      agencies: { list: later(adminAgencies, "AgenciesScreen"), item: later(adminAgencies, "AgencyScreen") },
    },
  },
  ops: {
    menu: ["flow", "failures", "endpoints", "actions"],
    start: "flow",
    routes: {
      flow: { list: later(opsFlow, "FlowScreen") },
      failures: { list: later(opsFailures, "FailuresScreen"), item: later(opsFailures, "FailureScreen") },
      endpoints: { list: later(opsEndpoints, "EndpointsScreen") },
      actions: { list: later(opsEndpoints, "ActionsScreen") },
    },
  },
};

/** Screens anyone may open, signed in or not: `#/<name>/<id>` (the id is the link's token). */
export const PUBLIC = {
  confirm: ListingConfirmScreen, // the monthly email's one-tap "still correct"
};

/** The public screen `route` opens, if it is one. */
export function publicScreen([name, id]) {
  const Screen = PUBLIC[name];
  return Screen && id ? html`<${Screen} id=${id} />` : null;
}

export const supported = (role) => role in ROLES;

/** The role's menu, in order (none for a role the app has no screens for). */
export const menuOf = (role) => ROLES[role]?.menu ?? [];

/** The screen `route` ([name, id]) opens for `role`: its start screen when the route is not
 *  one of the role's (another role's link, an old bookmark). */
export function screenFor(role, [name, id]) {
  const { routes, start } = ROLES[role];
  const found = routes[name];
  const Screen = found && (id ? found.item : found.list);
  if (Screen) return id ? html`<${Screen} id=${id} />` : html`<${Screen} />`;
  return html`<${routes[start].list} />`;
}
