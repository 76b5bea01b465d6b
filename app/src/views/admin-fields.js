// What an admin's form needs besides its controls (pure: no DOM, no network): reading and writing
// an HSDS document's fields by path ("addresses.0.city", "x_bridges.names.es"), and the API's
// refusal split by field, so each message shows at the control it is about.

/** The value at `path` ("a.b.0.c") in `document`, or `undefined`. */
export function valueAt(document, path) {
  return path.split(".").reduce((node, key) => (node == null ? undefined : node[key]), document);
}

/** A copy of `document` with `value` at `path` (objects and arrays made on the way). An empty
 *  text or an undefined value takes the field out (HSDS leaves optional fields absent). */
export function withValue(document, path, value) {
  const [key, ...rest] = path.split(".");
  const container = Array.isArray(document) ? [...document] : { ...(document ?? {}) };
  if (rest.length) {
    const next = container[key] ?? (/^\d+$/.test(rest[0]) ? [] : {});
    container[key] = withValue(next, rest.join("."), value);
  } else if (value === undefined || value === "") {
    if (Array.isArray(container)) container[key] = undefined;
    else delete container[key];
  } else {
    container[key] = value;
  }
  return container;
}

/** Where one refusal points, as a path of the document: a request's validation names its place
 *  in the body (`location: ["body", "addresses", 0, "city"]`); a dataset check a JSON path
 *  (`path: "$.attributes[0].taxonomy_term_id"`). */
export function pathOf(error) {
  if (Array.isArray(error.location)) {
    const [where, ...rest] = error.location;
    return where === "body" ? rest.join(".") : null;
  }
  if (typeof error.path === "string" && error.path.startsWith("$")) {
    return error.path.replace(/^\$\.?/, "").replace(/\[(\d+)\]/g, ".$1");
  }
  return null;
}

/** The refusal's messages by the form's fields (`fields`: their paths; a message about a part
 *  of a field goes to that field, the longest that contains it), and those no field holds. */
export function fieldErrors(problem, fields) {
  const byField = {};
  const rest = [];
  for (const error of problem?.errors ?? []) {
    const path = pathOf(error);
    const field = path === null ? null : fields
      .filter((f) => path === f || path.startsWith(`${f}.`))
      .sort((a, b) => b.length - a.length)[0];
    const message = error.message ?? "";
    if (field) byField[field] = byField[field] ? `${byField[field]} ${message}` : message;
    else rest.push(path ? `${path}: ${message}` : message);
  }
  return { byField, rest };
}

/** A new UUID for what an admin creates (PUT to its own id: a retry cannot create it twice). */
export function newId() {
  return crypto.randomUUID();
}
