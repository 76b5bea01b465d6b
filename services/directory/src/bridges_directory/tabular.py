"""HSDS 3.0 as a tabular data package (pure): the official descriptor's 21 CSV resources read into
the nested JSON Bridges imports (each value remembering its file, row and column, so an import's
errors name them), and the nested JSON written back as CSV files with `datapackage.json`.

`hsds_datapackage.json` is Open Referral's descriptor (HSDS 3.0.0, CC BY-SA 4.0), copied as
published; Bridges adds one resource, `x_bridges` (`x_bridges.csv`): a service's, location's or
schedule's `x_bridges` object (who takes referrals, capacity, time zone, a closure) as JSON, so a
round trip keeps it.
Rows are numbered as frictionless numbers them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from bridges_directory.dataset import DatasetError, InvalidDataset

DESCRIPTOR: dict[str, Any] = json.loads(
    resources.files("bridges_directory").joinpath("hsds_datapackage.json").read_text("utf-8")
)
EXTENDED = ("service", "location", "schedule")  # the tables whose rows carry an x_bridges
EXTENSION_RESOURCE: dict[str, Any] = {
    "name": "x_bridges",
    "path": "x_bridges.csv",
    "profile": "tabular-data-resource",
    "format": "csv",
    "mediatype": "text/csv",
    "description": "Bridges' own fields of a service, location or schedule (its x_bridges object)",
    "schema": {
        "fields": [
            {
                "name": "entity",
                "type": "string",
                "constraints": {"required": True, "enum": list(EXTENDED)},
            },
            {"name": "id", "type": "string", "format": "uuid", "constraints": {"required": True}},
            {"name": "x_bridges", "type": "object", "constraints": {"required": True}},
        ],
        "primaryKey": ["entity", "id"],
    },
}
RESOURCES = {r["name"]: r for r in [*DESCRIPTOR["resources"], EXTENSION_RESOURCE]}
MAX_FILE_BYTES = 64 * 1024 * 1024
ZIP = "application/zip"

# Where each table's rows nest: (child table, its JSON key, the column naming its parent), by
# parent; a row joins the most specific parent it names (a phone of a contact is not also the
# service's), the order of the parents' lists below.
CHILDREN: dict[str, list[tuple[str, str, str]]] = {
    "service": [
        ("phone", "phones", "service_id"),
        ("schedule", "schedules", "service_id"),
        ("language", "languages", "service_id"),
        ("service_area", "service_areas", "service_id"),
        ("cost_option", "cost_options", "service_id"),
        ("required_document", "required_documents", "service_id"),
        ("contact", "contacts", "service_id"),
        ("funding", "funding", "service_id"),
        ("service_at_location", "service_at_locations", "service_id"),
    ],
    "service_at_location": [
        ("schedule", "schedules", "service_at_location_id"),
        ("phone", "phones", "service_at_location_id"),
        ("contact", "contacts", "service_at_location_id"),
    ],
    "location": [
        ("address", "addresses", "location_id"),
        ("phone", "phones", "location_id"),
        ("schedule", "schedules", "location_id"),
        ("language", "languages", "location_id"),
        ("accessibility", "accessibility", "location_id"),
        ("contact", "contacts", "location_id"),
    ],
    "organization": [
        ("phone", "phones", "organization_id"),
        ("funding", "funding", "organization_id"),
        ("contact", "contacts", "organization_id"),
        ("organization_identifier", "organization_identifiers", "organization_id"),
    ],
    "contact": [("phone", "phones", "contact_id")],
    "phone": [("language", "languages", "phone_id")],
}
# a row naming several parents joins the first of these it names
SPECIFICITY = (
    "contact_id",
    "phone_id",
    "service_at_location_id",
    "location_id",
    "service_id",
    "organization_id",
)
PARENT_COLUMNS: dict[str, set[str]] = defaultdict(set)
for _children in CHILDREN.values():
    for _child, _key, _column in _children:
        PARENT_COLUMNS[_child].add(_column)
# objects embedded by an id column: (table, key in the parent, the parent's column)
EMBEDDED = {
    "service": [
        ("organization", "organization", "organization_id"),
        ("program", "program", "program_id"),
    ],
    "service_at_location": [("location", "location", "location_id")],
}


@dataclass(frozen=True)
class Cell:
    file: str
    row: int
    column: str | None = None


@dataclass
class Package:
    """The nested dataset, and where each of its JSON paths came from."""

    raw: dict[str, Any]
    origins: dict[str, Cell] = field(default_factory=dict)

    def located(self, error: DatasetError) -> dict[str, Any]:
        """An error with the file, row and column of the value it is about."""
        found: dict[str, Any] = dict(error.as_dict())
        path, column = error.path, None
        while path and path not in self.origins:
            head, _, tail = path.rpartition(".")
            bracket = path.rfind("[")
            if bracket > len(head):  # the last step is an index: "…services[3]"
                path = path[:bracket]
            else:
                path, column = head, column or tail.split("[")[0]
        cell = self.origins.get(path)
        if cell is not None:
            found.update(file=cell.file, row=cell.row)
            named = cell.column or column
            if named:
                found["column"] = named
        return found


class InvalidPackage(InvalidDataset):
    """A package whose files cannot be read as HSDS tables (nothing is written)."""


class InvalidRows(InvalidDataset):
    """The package's rows as a dataset have errors: each named by file, row and column."""

    def __init__(self, package: Package, errors: Sequence[DatasetError]) -> None:
        super().__init__(errors, "the data package")
        self.package = package

    @property
    def problem_extensions(self) -> dict[str, Any]:
        return {
            "errors": [self.package.located(e) for e in self.errors[:1000]],
            "error_count": len(self.errors),
        }


def _typed(value: str, spec: Mapping[str, Any]) -> Any:
    kind = spec.get("type", "string")
    if kind == "number":
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    if kind == "object":
        return json.loads(value)
    return value


class _Reader:
    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.origins: dict[str, Cell] = {}
        self.errors: list[DatasetError] = []
        self.rows: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for name, resource in RESOURCES.items():
            self.rows[name] = list(self._read(resource))

    def _read(self, resource: Mapping[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
        path = resource["path"]
        data = self.files.get(path)
        if data is None:
            return
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.errors.append(DatasetError(path, "not UTF-8 text"))
            return
        specs = {f["name"]: f for f in resource["schema"]["fields"]}
        reader = csv.DictReader(io.StringIO(text, newline=""))
        unknown = [c for c in reader.fieldnames or [] if c not in specs]
        for column in unknown:
            self.errors.append(
                DatasetError(f"{path} row 1 column {column}", "not a column of this table")
            )
        for number, row in enumerate(reader, start=2):
            values: dict[str, Any] = {}
            for column, cell in row.items():
                if column is None or column not in specs or cell is None or cell == "":
                    continue
                try:
                    values[column] = _typed(cell, specs[column])
                except ValueError:
                    self.errors.append(
                        DatasetError(
                            f"{path} row {number} column {column}",
                            f"not a {specs[column]['type']}: {cell[:40]!r}",
                        )
                    )
            yield number, values

    def by_parent(self, table: str, column: str) -> dict[str, list[tuple[int, dict[str, Any]]]]:
        """The rows of `table` whose parent is named by `column`, by the parent's id."""
        grouped: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for number, row in self.rows.get(table, []):
            own = next((c for c in SPECIFICITY if c in PARENT_COLUMNS[table] and row.get(c)), None)
            if own == column:
                grouped[str(row[column])].append((number, row))
        return grouped

    def build(self, table: str, number: int, row: dict[str, Any], at: str) -> dict[str, Any]:
        """The nested object of one row, its origins recorded under JSON path `at`."""
        path = RESOURCES[table]["path"]
        self.origins[at] = Cell(path, number)
        # the columns that only say where a row nests are the nesting itself in JSON
        nesting = PARENT_COLUMNS[table] | {c for _, _, c in EMBEDDED.get(table, [])}
        if table == "attribute":
            nesting |= {"link_id", "link_entity"}
        item = {k: v for k, v in row.items() if k not in nesting}
        for column in row:
            self.origins[f"{at}.{column}"] = Cell(path, number, column)
        for child, key, column in CHILDREN.get(table, []):
            found = self.by_parent(child, column).get(str(row.get("id")), [])
            if found:
                item[key] = [
                    self.build(child, n, r, f"{at}.{key}[{i}]") for i, (n, r) in enumerate(found)
                ]
        for embedded, key, column in EMBEDDED.get(table, []):
            target = row.get(column)
            match = next(
                ((n, r) for n, r in self.rows.get(embedded, []) if r.get("id") == target), None
            )
            if target and match is not None:
                item[key] = self.build(embedded, match[0], match[1], f"{at}.{key}")
        extension = self.extensions.get((table, str(row.get("id"))))
        if extension is not None:
            item["x_bridges"] = extension
        if table == "service":
            attributes = [
                (n, r)
                for n, r in self.rows.get("attribute", [])
                if r.get("link_id") == row.get("id")
            ]
            if attributes:
                item["attributes"] = [
                    self.build("attribute", n, r, f"{at}.attributes[{i}]")
                    for i, (n, r) in enumerate(attributes)
                ]
        return item

    @property
    def extensions(self) -> dict[tuple[str, str], Any]:
        return {
            (r["entity"], str(r["id"])): r["x_bridges"]
            for _, r in self.rows.get("x_bridges", [])
            if "entity" in r and "id" in r and "x_bridges" in r
        }


def read(files: Mapping[str, bytes]) -> Package:
    """The package's files (by path, as `datapackage.json` names them) as a nested dataset."""
    reader = _Reader(files)
    if reader.errors:
        raise InvalidPackage(reader.errors, "the data package")
    raw: dict[str, Any] = {"taxonomies": [], "taxonomy_terms": [], "services": []}
    for key, table in (("taxonomies", "taxonomy"), ("taxonomy_terms", "taxonomy_term")):
        for i, (number, row) in enumerate(reader.rows.get(table, [])):
            raw[key].append(reader.build(table, number, row, f"$.{key}[{i}]"))
    for i, (number, row) in enumerate(reader.rows.get("service", [])):
        raw["services"].append(reader.build("service", number, row, f"$.services[{i}]"))
    return Package(raw, reader.origins)


def read_zip(data: bytes) -> Package:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidPackage([DatasetError("$", "not a zip archive")], "the data package") from None
    files: dict[str, bytes] = {}
    for info in archive.infolist():
        name = info.filename.rsplit("/", 1)[-1]
        if name.endswith(".csv") and info.file_size <= MAX_FILE_BYTES:
            files[name] = archive.read(info)
    if not files:
        raise InvalidPackage([DatasetError("$", "no CSV file in the archive")], "the data package")
    return read(files)


# -- writing ------------------------------------------------------------------------------


def _cell(value: Any, spec: Mapping[str, Any]) -> str:
    if value is None:
        return ""
    if spec.get("type") == "object" or isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if spec.get("type") == "time" and isinstance(value, str) and len(value) == 5:
        return value + ":00"  # Table Schema's time is HH:MM:SS
    return str(value)


class _Writer:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in RESOURCES}

    def add(self, table: str, item: Mapping[str, Any], **parents: Any) -> None:
        columns = {f["name"] for f in RESOURCES[table]["schema"]["fields"]}
        row = {k: v for k, v in item.items() if k in columns}
        row.update({k: v for k, v in parents.items() if v is not None and k in columns})
        self.rows[table].setdefault(str(item.get("id")), row)
        for child, key, column in CHILDREN.get(table, []):
            for nested in item.get(key) or []:
                self.add(child, nested, **{column: item.get("id")})
        for embedded, key, column in EMBEDDED.get(table, []):
            if item.get(key):
                self.rows[table][str(item.get("id"))][column] = item[key]["id"]
                self.add(embedded, item[key])
        if table == "service":
            for attribute in item.get("attributes") or []:
                self.add("attribute", attribute, link_id=item["id"], link_entity="service")
        if table in EXTENDED and item.get("x_bridges"):
            self.rows["x_bridges"][f"{table}:{item['id']}"] = {
                "entity": table,
                "id": item["id"],
                "x_bridges": item["x_bridges"],
            }


def write(dataset: Mapping[str, Any]) -> dict[str, bytes]:
    """The dataset (as `GET /export` writes it) as the package's files, `datapackage.json`
    included; every resource is written, with its header, even when it has no row."""
    writer = _Writer()
    for taxonomy in dataset.get("taxonomies", []):
        writer.add("taxonomy", taxonomy)
    for term in dataset.get("taxonomy_terms", []):
        writer.add("taxonomy_term", term)
    for service in dataset.get("services", []):
        writer.add("service", service)
    files: dict[str, bytes] = {}
    for name, resource in RESOURCES.items():
        specs = resource["schema"]["fields"]
        out = io.StringIO()
        table = csv.writer(out, lineterminator="\n")
        table.writerow([f["name"] for f in specs])
        for row in writer.rows[name].values():
            table.writerow([_cell(row.get(f["name"]), f) for f in specs])
        files[resource["path"]] = out.getvalue().encode("utf-8")
    descriptor = {**DESCRIPTOR, "resources": list(RESOURCES.values())}
    files["datapackage.json"] = json.dumps(descriptor, indent=2).encode("utf-8")
    return files


def zipped(files: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return out.getvalue()
