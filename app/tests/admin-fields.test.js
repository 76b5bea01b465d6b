// An admin's form: fields read and written by path, and the API's refusals at their fields.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fieldErrors, pathOf, valueAt, withValue } from "../src/views/admin-fields.js";

test("a nested field is read and written by its path, the rest of the document kept", () => {
  const location = { id: "l1", name: "Hall", addresses: [{ id: "a1", city: "Riverton" }] };
  const moved = withValue(location, "addresses.0.city", "Alder");
  assert.equal(valueAt(moved, "addresses.0.city"), "Alder");
  assert.equal(moved.addresses[0].id, "a1");
  assert.equal(location.addresses[0].city, "Riverton"); // the original is left alone
  assert.deepEqual(withValue({}, "x_bridges.names.es", "Comida"), { x_bridges: { names: { es: "Comida" } } });
});

test("an emptied optional field is taken out, as HSDS leaves it absent", () => {
  assert.deepEqual(withValue({ name: "Hall", email: "a@b.org" }, "email", ""), { name: "Hall" });
  assert.equal(valueAt({}, "addresses.0.city"), undefined);
});

test("a request's validation and a dataset's check both point at a document path", () => {
  assert.equal(pathOf({ location: ["body", "addresses", 0, "city"] }), "addresses.0.city");
  assert.equal(pathOf({ location: ["query", "dry_run"] }), null);
  assert.equal(pathOf({ path: "$.attributes[0].taxonomy_term_id" }), "attributes.0.taxonomy_term_id");
  assert.equal(pathOf({ path: "$" }), "");
});

test("each message goes to the field it is about, the closest one holding it", () => {
  const problem = {
    errors: [
      { location: ["body", "name"], message: "String should have at least 1 character" },
      { path: "$.parent_id", message: "the term is its own ancestor" },
      { location: ["body", "addresses", 0, "postal_code"], message: "Field required" },
      { location: ["body", "x_bridges", "weird"], message: "Extra inputs are not permitted" },
    ],
  };
  const { byField, rest } = fieldErrors(problem, ["name", "parent_id", "addresses", "addresses.0.postal_code"]);
  assert.deepEqual(byField, {
    name: "String should have at least 1 character",
    parent_id: "the term is its own ancestor",
    "addresses.0.postal_code": "Field required",
  });
  assert.deepEqual(rest, ["x_bridges.weird: Extra inputs are not permitted"]);
});
