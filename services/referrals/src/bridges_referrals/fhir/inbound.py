"""What Bridges accepts from a FHIR client (pure): a resource checked by the FHIR models
(`fhir.resources`, R4B: for the resources used here the same elements as R4), a Task sent back
by its owner (only status, statusReason and output may change), and an inbound Task whose
contained ServiceRequest, Patient and Consent make an officer's intake.

An inbound Task (the IG's indirect flow, Bridges the coordination platform):
- `Task.identifier` (the sender's id for it) is required: it is the intake's idempotency key;
- `Task.focus` is `#<ServiceRequest>`, `Task.for` `#<Patient>`, all three contained;
- the ServiceRequest's performer is `HealthcareService/<program id>` (the directory's service);
  its categories (SDOHCC codes, or Bridges' need codes) are the needs, its notes the situation,
  its priority (or the Task's) the urgency;
- a contained Consent (status active, category IDSCL, dateTime) is required: without it the
  Task is refused. Its provision codes (system `.../CodeSystem/consent-scope`) say what the
  program may see; none given means `contact` and `needs`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from bridges_referrals.domain import ConsentScope
from bridges_referrals.fhir import codes
from bridges_referrals.models import FileReferral

# What a system that did not create a Task may change in it (the IG, "Checking Task status")
OWNER_MAY_CHANGE = frozenset(
    {"status", "statusReason", "output", "businessStatus", "meta", "lastModified", "text"}
)
DEFAULT_SCOPES = (ConsentScope.CONTACT, ConsentScope.NEEDS)
MAX_ISSUES = 50


class InvalidResource(ValueError):
    """A resource that is not valid FHIR, or not one Bridges can take (422, each issue listed
    with its FHIRPath-like expression)."""

    def __init__(self, issues: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {what}" for where, what in issues[:3]))
        self.problem_extensions = {
            "errors": [{"expression": where, "message": what} for where, what in issues]
        }

    @classmethod
    def of(cls, exc: ValidationError, root: str = "") -> InvalidResource:
        issues = []
        for error in exc.errors()[:MAX_ISSUES]:
            where = ".".join(str(p) for p in (root, *error.get("loc", ())) if p != "")
            issues.append((where or root or "resource", str(error.get("msg", "invalid"))))
        return cls(issues or [(root or "resource", "invalid")])


def parse_resource(body: Any, resource_type: str) -> dict[str, Any]:
    """`body` if it is a valid FHIR resource of `resource_type` (else InvalidResource)."""
    if not isinstance(body, dict) or body.get("resourceType") != resource_type:
        raise InvalidResource([("resourceType", f"send a {resource_type} resource")])
    try:
        get_fhir_model_class(resource_type).model_validate(body)
    except ValidationError as exc:
        raise InvalidResource.of(exc, resource_type) from None
    return body


def check_only_changes(
    current: Mapping[str, Any], sent: Mapping[str, Any], may_change: Iterable[str]
) -> None:
    allowed = set(may_change)
    changed = sorted(
        key
        for key in (current.keys() | sent.keys()) - allowed
        if _normal(current.get(key)) != _normal(sent.get(key))
    )
    if changed:
        raise InvalidResource(
            [(f"Task.{key}", "only status, statusReason and output may change") for key in changed]
        )


def _normal(value: Any) -> Any:
    """A value compared as FHIR means it: instants by the moment they name."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str) and len(value) > 18 and value[4:5] == "-" and "T" in value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


# -- inbound Task -> intake ---------------------------------------------------------------


def _contained(task: Mapping[str, Any], ref: Mapping[str, Any] | None, kind: str) -> dict[str, Any]:
    target = (ref or {}).get("reference", "")
    if not target.startswith("#"):
        raise InvalidResource([(f"Task.{kind}", f"refer to the contained {kind} as #<id>")])
    for resource in task.get("contained", []):
        if resource.get("id") == target[1:] and resource.get("resourceType") == kind:
            return dict(resource)
    raise InvalidResource([("Task.contained", f"no contained {kind} {target}")])


def _program_id(service_request: Mapping[str, Any]) -> str:
    for performer in service_request.get("performer", []):
        kind, _, program_id = str(performer.get("reference", "")).rpartition("/")
        if kind.endswith("HealthcareService") and program_id:
            return program_id
    raise InvalidResource(
        [("ServiceRequest.performer", "name the program: HealthcareService/<program id>")]
    )


def _needs(service_request: Mapping[str, Any]) -> list[str]:
    needs: list[str] = []
    for category in service_request.get("category", []):
        by_system = {c.get("system"): c.get("code") for c in category.get("coding", [])}
        need = by_system.get(codes.NEED_SYSTEM)
        if need is None and by_system.get(codes.SDOHCC_CODES) in codes.SDOH_CATEGORIES:
            need = by_system[codes.SDOHCC_CODES]
        if need and need not in needs:
            needs.append(need)
    if not needs:
        raise InvalidResource(
            [("ServiceRequest.category", "give at least one SDOH category (SDOHCC codes)")]
        )
    return needs


def _client(patient: Mapping[str, Any]) -> dict[str, Any]:
    names = patient.get("name") or [{}]
    given = (names[0].get("given") or [None])[0]
    if not given or not names[0].get("family"):
        raise InvalidResource([("Patient.name", "a given and a family name are required")])
    telecom = {t.get("system"): t.get("value") for t in patient.get("telecom", [])}
    language = next(
        (
            c.get("code")
            for comm in patient.get("communication", [])
            for c in comm.get("language", {}).get("coding", [])
        ),
        "en",
    )
    channel = "phone" if telecom.get("phone") else "email" if telecom.get("email") else "officer"
    contact = {
        "phone": telecom.get("phone"),
        "email": telecom.get("email"),
        "preferred_channel": channel,
        "preferred_language": language,
        "safe_to_leave_message": False,  # not said in FHIR: the cautious answer
    }
    client: dict[str, Any] = {
        "given_name": given,
        "family_name": names[0]["family"],
        "contact": {k: v for k, v in contact.items() if v is not None},
    }
    if patient.get("birthDate"):
        client["date_of_birth"] = patient["birthDate"]
    household = []
    for member in patient.get("contact", []):
        name = member.get("name") or {}
        relationship = (member.get("relationship") or [{}])[0].get("text") or "household member"
        if name.get("given"):
            household.append(
                {
                    "given_name": name["given"][0],
                    "family_name": name.get("family"),
                    "relationship": relationship,
                }
            )
    if household:
        client["household"] = household
    return client


def _consent(consent: Mapping[str, Any]) -> dict[str, Any]:
    issues = []
    if consent.get("status") != "active":
        issues.append(("Consent.status", "the family's consent must be active"))
    categories = {
        c.get("code") for cat in consent.get("category", []) for c in cat.get("coding", [])
    }
    if "IDSCL" not in categories:
        issues.append(("Consent.category", "an information-disclosure consent (IDSCL) is needed"))
    if not consent.get("dateTime"):
        issues.append(("Consent.dateTime", "when the family consented is required"))
    if issues:
        raise InvalidResource(issues)
    scopes = sorted(
        {
            c["code"]
            for concept in consent.get("provision", {}).get("code", [])
            for c in concept.get("coding", [])
            if c.get("system") == codes.CONSENT_SCOPE_SYSTEM and c.get("code") in set(ConsentScope)
        }
        or {s.value for s in DEFAULT_SCOPES}
    )
    performer = (consent.get("performer") or [{}])[0]
    guardian = performer.get("type") == "RelatedPerson" or "RelatedPerson/" in performer.get(
        "reference", ""
    )
    method = next(
        (
            e.get("valueCode")
            for e in consent.get("extension", [])
            if e.get("url") == codes.CONSENT_METHOD_EXTENSION
        ),
        "written",
    )
    given = {
        "given_by": "guardian" if guardian else "client",
        "method": method,
        "given_at": consent["dateTime"],
        "scopes": scopes,
    }
    if guardian:
        given["given_by_name"] = performer.get("display")
    return given


def intake_of(body: Any) -> tuple[FileReferral, str]:
    """The intake an inbound Task asks for, and its idempotency key (from Task.identifier)."""
    task = parse_resource(body, "Task")
    if task.get("intent") != "order":
        raise InvalidResource([("Task.intent", "a referral Task's intent is order")])
    identifiers = [i for i in task.get("identifier", []) if i.get("value")]
    if not identifiers:
        raise InvalidResource([("Task.identifier", "give your id for the Task (idempotency)")])
    key_source = f"{identifiers[0].get('system', '')}|{identifiers[0]['value']}"
    service_request = _contained(task, task.get("focus"), "ServiceRequest")
    patient = _contained(task, task.get("for"), "Patient")
    consent_ref = next(
        (
            info
            for info in service_request.get("supportingInfo", [])
            if any(
                c.get("id") == info.get("reference", "")[1:] and c.get("resourceType") == "Consent"
                for c in task.get("contained", [])
            )
        ),
        None,
    )
    if consent_ref is None:
        raise InvalidResource(
            [("ServiceRequest.supportingInfo", "the family's Consent is required (contained)")]
        )
    consent = _contained(task, consent_ref, "Consent")
    priority = service_request.get("priority") or task.get("priority") or "routine"
    notes = [n.get("text") for n in service_request.get("note", []) if n.get("text")]
    request = FileReferral.model_validate(
        {
            "client": _client(patient),
            "needs": _needs(service_request),
            "situation": "\n".join(notes) or None,
            "urgency": codes.URGENCY_OF_PRIORITY.get(priority, "routine"),
            "program_ids": [_program_id(service_request)],
            "consent": _consent(consent),
        }
    )
    return request, "fhir-" + hashlib.sha256(key_source.encode()).hexdigest()[:64]
