"""HSDS datasets as Bridges imports and exports them (pure: parsing and validation, no I/O).

Accepted shapes:
- a JSON array of full HSDS service objects;
- an object `{"taxonomies": [...], "taxonomy_terms": [...], "services": [...]}`
  (what `GET /export` writes; `taxonomy` with one object is accepted too);
- on the command line, a folder holding `services.json`, `taxonomies.json` and
  `taxonomy_terms.json` (the datapackage-style file set), read into the object form.
Every error is reported with the JSON path of the offending value, e.g.
`$.services[3].organization.name`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bridges_directory import hsds

MAX_SERVICES = 200_000
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class DatasetError:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass
class Dataset:
    taxonomies: list[hsds.Taxonomy] = field(default_factory=list)
    taxonomy_terms: list[hsds.TaxonomyTerm] = field(default_factory=list)
    services: list[hsds.Service] = field(default_factory=list)


class InvalidDataset(ValueError):
    """The dataset has errors; nothing of it was written."""

    def __init__(self, errors: Sequence[DatasetError]) -> None:
        shown = len(errors)
        super().__init__(f"the dataset has {shown} error(s); nothing was imported")
        self.errors = list(errors)

    @property
    def problem_extensions(self) -> dict[str, Any]:
        return {
            "errors": [e.as_dict() for e in self.errors[:1000]],
            "error_count": len(self.errors),
        }


def json_path(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


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
    errors.extend(DatasetError(f"$.{key}", "unknown member") for key in sorted(unknown))
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


def check_references(
    dataset: Dataset, known_terms: set[Any], known_taxonomies: set[Any]
) -> list[DatasetError]:
    """Terms and taxonomies referred to must be in the dataset or already in the directory."""
    terms = known_terms | {t.id for t in dataset.taxonomy_terms}
    taxonomies = known_taxonomies | {t.id for t in dataset.taxonomies}
    errors = [
        DatasetError(f"$.taxonomy_terms[{i}].parent_id", f"unknown parent term {t.parent_id}")
        for i, t in enumerate(dataset.taxonomy_terms)
        if t.parent_id is not None and t.parent_id not in terms
    ]
    errors += [
        DatasetError(f"$.taxonomy_terms[{i}].taxonomy_id", f"unknown taxonomy {t.taxonomy_id}")
        for i, t in enumerate(dataset.taxonomy_terms)
        if t.taxonomy_id is not None and t.taxonomy_id not in taxonomies
    ]
    errors += [
        DatasetError(
            f"$.services[{i}].attributes[{j}].taxonomy_term_id",
            f"unknown taxonomy term {a.taxonomy_term_id}",
        )
        for i, s in enumerate(dataset.services)
        for j, a in enumerate(s.attributes)
        if a.taxonomy_term_id not in terms and a.taxonomy_term is None
    ]
    return errors


def read_path(path: Path) -> Any:
    """A dataset file, or a folder holding the file set (services.json, taxonomies.json, ...)."""
    if path.is_dir():
        raw: dict[str, Any] = {}
        for name in ("taxonomies", "taxonomy_terms", "services"):
            member = path / f"{name}.json"
            if member.exists():
                raw[name] = json.loads(member.read_text(encoding="utf-8"))
        return raw
    return json.loads(path.read_text(encoding="utf-8"))
