// Which screens each role has: the routes it may open (one screen for the list, one for an
// item when the route names an id), the order of its menu, and where it starts. The app shows
// only what a role's token may use; the server decides all the same (every route is checked).
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
