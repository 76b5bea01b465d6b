"""HSDS datasets as Bridges imports and exports them (pure: parsing and validation, no I/O).

Accepted shapes:
- a JSON array of full HSDS service objects;
- an object `{"taxonomies": [...], "taxonomy_terms": [...], "services": [...]}`
  (what `GET /export` writes; `taxonomy` with one object is accepted too);
- on the command line, a folder holding `services.json`, `taxonomies.json` and
  `taxonomy_terms.json` (the datapackage-style file set), read into the object form.
Every error is reported with the JSON path of the offending value, e.g.
`$.services[3].organization.name`.

References between objects are checked here too (`check_references`, `check_service`), against
what the directory already holds (`Known`). A reference Bridges can do without is kept as
given and reported as a warning; one it cannot is an error. Nothing here raises anything but
`InvalidDataset`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError

from bridges_directory import hsds
from bridges_kit import text

MAX_SERVICES = 200_000
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class DatasetError:
    """A finding at a JSON path: an error (nothing is written) or a warning (kept as given)."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        # a message may quote input (pydantic's do): lone surrogates cannot be sent as UTF-8
        return {"path": _printable(self.path), "message": _printable(self.message)}


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass
class Dataset:
    taxonomies: list[hsds.Taxonomy] = field(default_factory=list)
    taxonomy_terms: list[hsds.TaxonomyTerm] = field(default_factory=list)
    services: list[hsds.Service] = field(default_factory=list)


class InvalidDataset(ValueError):
    """The dataset has errors; nothing of it was written."""

    def __init__(self, errors: Sequence[DatasetError], subject: str = "the dataset") -> None:
        super().__init__(f"{subject} has {len(errors)} error(s); nothing was written")
        self.errors = list(errors)

    @property
    def problem_extensions(self) -> dict[str, Any]:
        return {
            "errors": [e.as_dict() for e in self.errors[:1000]],
            "error_count": len(self.errors),
        }


def json_path(prefix: str, loc: Sequence[int | str]) -> str:
    return text.json_path(loc, prefix)


def unstorable_text(value: Any, path: str = "$") -> Iterator[DatasetError]:
    """Text PostgreSQL cannot store (see `bridges_kit.text`): refused, not silently altered."""
    for location, reason in text.unstorable_in(value):
        yield DatasetError(json_path(path, location), reason)


def _models(model: type[M], raw: Any, prefix: str, errors: list[DatasetError]) -> list[M]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(DatasetError(prefix, "expected an array"))
        return []
    parsed: list[M] = []
    for index, item in enumerate(raw):
        try:
            parsed.append(model.model_validate(item))
        except ValidationError as exc:
            errors.extend(
                DatasetError(json_path(f"{prefix}[{index}]", e["loc"]), e["msg"])
                for e in exc.errors(include_url=False, include_input=False)
            )
    return parsed


def parse(raw: Any) -> Dataset:
    """Validate a whole dataset; raises InvalidDataset listing every error."""
    errors: list[DatasetError] = []
    if isinstance(raw, list):
        raw = {"services": raw}
    if not isinstance(raw, dict):
        raise InvalidDataset([DatasetError("$", "expected an array of services or an object")])
    unknown = set(raw) - {"taxonomies", "taxonomy", "taxonomy_terms", "services"}
    errors.extend(DatasetError(json_path("$", [key]), "unknown member") for key in sorted(unknown))
    taxonomies_raw = raw.get("taxonomies")
    if taxonomies_raw is None and isinstance(raw.get("taxonomy"), dict):
        taxonomies_raw = [raw["taxonomy"]]
    services_raw = raw.get("services")
    if isinstance(services_raw, list) and len(services_raw) > MAX_SERVICES:
        raise InvalidDataset(
            [DatasetError("$.services", f"more than {MAX_SERVICES} services; split the file")]
        )
    dataset = Dataset(
        _models(hsds.Taxonomy, taxonomies_raw, "$.taxonomies", errors),
        _models(hsds.TaxonomyTerm, raw.get("taxonomy_terms"), "$.taxonomy_terms", errors),
        _models(hsds.Service, services_raw, "$.services", errors),
    )
    _check_unique(raw, errors)
    errors.extend(unstorable_text(raw))
    if errors:
        raise InvalidDataset(errors)
    return dataset


def _check_unique(raw: dict[str, Any], errors: list[DatasetError]) -> None:
    """Duplicate ids, reported at their position in the file (valid records or not)."""
    for name in ("taxonomies", "taxonomy_terms", "services"):
        items = raw.get(name)
        if not isinstance(items, list):
            continue
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            item_id = str(item.get("id", "")).lower() if isinstance(item, dict) else ""
            if not item_id:
                continue
            if item_id in seen:
                errors.append(
                    DatasetError(
                        f"$.{name}[{index}].id",
                        f"duplicate id {item_id} (first at $.{name}[{seen[item_id]}])",
                    )
                )
            seen.setdefault(item_id, index)


# -- references ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownTerm:
    """What reference checks need of a term the directory holds."""

    parent_id: UUID | None
    taxonomy_id: UUID | None
    code: str | None


@dataclass(frozen=True)
class Known:
    """The directory's taxonomy as references may point at it (read before a write)."""

    terms: Mapping[UUID, KnownTerm] = field(default_factory=dict)
    taxonomies: Set[UUID] = frozenset()


@dataclass(frozen=True)
class References:
    errors: list[DatasetError]
    warnings: list[DatasetError]


_KEPT = "is neither in the dataset nor in the directory; kept as given"


def check_references(dataset: Dataset, known: Known) -> References:
    """Every reference of a parsed dataset, resolved against itself and the directory."""
    terms = [(f"$.taxonomy_terms[{i}]", t) for i, t in enumerate(dataset.taxonomy_terms)]
    services = [(f"$.services[{i}]", s) for i, s in enumerate(dataset.services)]
    for path, service in services:
        terms += _embedded_terms(path, service)
    return _check(terms, services, {t.id for t in dataset.taxonomies}, known)


def check_service(service: hsds.Service, known: Known) -> References:
    """What `parse` and `check_references` check of a service, for one written alone (paths
    start at the service: `$`)."""
    found = _check(_embedded_terms("$", service), [("$", service)], set(), known)
    unstorable = unstorable_text(service.model_dump(mode="json", exclude_none=True))
    return References([*unstorable, *found.errors], found.warnings)


def check_term(term: hsds.TaxonomyTerm, known: Known) -> References:
    """The same for one taxonomy term written alone (paths start at the term: `$`)."""
    found = _check([("$", term)], [], set(), known)
    unstorable = unstorable_text(term.model_dump(mode="json", exclude_none=True))
    return References([*unstorable, *found.errors], found.warnings)


def check_text(model: BaseModel) -> list[DatasetError]:
    """Text PostgreSQL cannot store, anywhere in one object written alone."""
    return list(unstorable_text(model.model_dump(mode="json", exclude_none=True)))


Located = tuple[str, hsds.TaxonomyTerm]


def _embedded_terms(path: str, service: hsds.Service) -> list[Located]:
    return [
        (f"{path}.attributes[{j}].taxonomy_term", a.taxonomy_term)
        for j, a in enumerate(service.attributes)
        if a.taxonomy_term is not None
    ]


def _check(
    terms: list[Located],
    services: list[tuple[str, hsds.Service]],
    taxonomies: set[UUID],
    known: Known,
) -> References:
    """`terms` in the order they are written: the listed ones, then those embedded in each
    service (a later copy of a term replaces an earlier one)."""
    term_ids = set(known.terms) | {t.id for _, t in terms}
    taxonomy_ids = set(known.taxonomies) | taxonomies
    # A missing parent only loses the hierarchy above a term (it links up once the parent
    # arrives); a missing taxonomy only a grouping: both are kept and reported.
    warnings = [
        DatasetError(f"{path}.parent_id", f"parent term {t.parent_id} {_KEPT}")
        for path, t in terms
        if t.parent_id is not None and t.parent_id not in term_ids
    ]
    warnings += [
        DatasetError(f"{path}.taxonomy_id", f"taxonomy {t.taxonomy_id} {_KEPT}")
        for path, t in terms
        if t.taxonomy_id is not None and t.taxonomy_id not in taxonomy_ids
    ]
    errors = _code_clashes(terms, known) + _loops(terms, known)
    for path, service in services:
        errors += _attribute_errors(path, service, term_ids)
        warnings += _unplaced_locations(path, service)
    return References(errors, warnings)


def _attribute_errors(path: str, service: hsds.Service, term_ids: set[UUID]) -> list[DatasetError]:
    errors = []
    first: dict[UUID, int] = {}
    for j, attribute in enumerate(service.attributes):
        at = f"{path}.attributes[{j}]"
        if attribute.id in first:  # HSDS: each attribute has a unique identifier
            errors.append(
                DatasetError(
                    f"{at}.id", f"duplicate id (first at {path}.attributes[{first[attribute.id]}])"
                )
            )
        first.setdefault(attribute.id, j)
        term, term_id = attribute.taxonomy_term, attribute.taxonomy_term_id
        if term is not None and term.id != term_id:
            errors.append(
                DatasetError(f"{at}.taxonomy_term_id", f"differs from taxonomy_term.id {term.id}")
            )
        elif term is None and term_id is not None and term_id not in term_ids:
            # a term with no name classifies nothing anyone can search or read: send the
            # dataset's taxonomy_terms, or embed the term
            errors.append(
                DatasetError(f"{at}.taxonomy_term_id", f"unknown taxonomy term {term_id}")
            )
    return errors


def _unplaced_locations(path: str, service: hsds.Service) -> list[DatasetError]:
    return [
        DatasetError(
            f"{path}.service_at_locations[{j}].location_id",
            f"location {sal.location_id} is not embedded; kept as given, not searchable by place",
        )
        if sal.location_id is not None
        else DatasetError(
            f"{path}.service_at_locations[{j}]",
            "no location; kept as given, not searchable by place",
        )
        for j, sal in enumerate(service.service_at_locations)
        if sal.location is None
    ]


def _code_clashes(terms: list[Located], known: Known) -> list[DatasetError]:
    """Within a taxonomy a code names one term (HSDS: "this and the taxonomy_id combined define
    the term"; a unique index). Replayed in write order, as the index sees each write."""
    key_of = {i: (t.taxonomy_id, t.code) for i, t in known.terms.items()}
    holder = {key: i for i, key in key_of.items() if None not in key}
    errors = []
    for path, term in terms:
        key = (term.taxonomy_id, term.code)
        other = holder.get(key) if None not in key else None
        if other is not None and other != term.id:
            errors.append(
                DatasetError(
                    f"{path}.code",
                    f"code {term.code!r} already names term {other} in taxonomy {term.taxonomy_id}",
                )
            )
            continue
        previous = key_of.get(term.id)
        if previous is not None and holder.get(previous) == term.id:
            del holder[previous]
        key_of[term.id] = key
        if None not in key:
            holder[key] = term.id
    return errors


def _loops(terms: list[Located], known: Known) -> list[DatasetError]:
    """A term may not be its own ancestor: search walks down from a term and export writes
    parents first, both of which need a tree. Each term is walked once (linear time)."""
    parent_of = {i: t.parent_id for i, t in known.terms.items()}
    written = {}
    for path, term in terms:
        parent_of[term.id] = term.parent_id
        written[term.id] = path  # the last copy is the one that stays
    looped: dict[UUID, bool] = {}
    for start in written:
        trail: dict[UUID, int] = {}  # the ancestors walked from `start`, in order
        node: UUID | None = start
        while node is not None and node not in looped and node not in trail:
            trail[node] = len(trail)
            node = parent_of.get(node)
        cycle_from = trail.get(node, len(trail)) if node is not None else len(trail)
        for term_id, position in trail.items():
            looped[term_id] = position >= cycle_from
    return [
        DatasetError(f"{path}.parent_id", "the term is its own ancestor")
        for term_id, path in written.items()
        if looped[term_id]
    ]


def read_path(path: Path) -> Any:
    """A dataset file, or a folder holding the file set (services.json, taxonomies.json, ...),
    or an HSDS tabular data package (its `datapackage.json`, or the folder holding it)."""
    package = path / "datapackage.json" if path.is_dir() else path
    if package.name == "datapackage.json" and package.exists():
        from bridges_directory import tabular  # the tabular reader is only needed here

        folder = package.parent
        return tabular.read({p.name: p.read_bytes() for p in folder.glob("*.csv")}).raw
    if path.is_dir():
        raw: dict[str, Any] = {}
        for name in ("taxonomies", "taxonomy_terms", "services"):
            member = path / f"{name}.json"
            if member.exists():
                raw[name] = json.loads(member.read_text(encoding="utf-8"))
        return raw
    return json.loads(path.read_text(encoding="utf-8"))
