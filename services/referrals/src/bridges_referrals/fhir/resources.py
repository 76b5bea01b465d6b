"""Bridges' objects as FHIR R4 resources in the shape of the SDOH Clinical Care IG (pure).

Every resource about a family is built from what the reader may see (`sharing.Shared`): a
Patient without the `contact` scope has no name, birth date or telecom, a ServiceRequest without
`needs` no categories, without `situation` no note. Ids: a Task and its ServiceRequest carry the
referral's id, a Patient and its Consent the case's, an Organization the agency's, a
HealthcareService the program's (the directory's service id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bridges_referrals import sharing
from bridges_referrals.domain import Case, ConsentScope, HistoryEntry, Program, Referral
from bridges_referrals.fhir import codes
from bridges_schema import ReferralStatus

Resource = dict[str, Any]


def instant(at: datetime) -> str:
    return at.isoformat()


def reference(kind: str, resource_id: object, display: str | None = None) -> dict[str, str]:
    ref = {"reference": f"{kind}/{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def _meta(version: int | None, updated: datetime, profile: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"lastUpdated": instant(updated)}
    if version is not None:
        meta["versionId"] = str(version)
    if profile:
        meta["profile"] = [profile]
    return meta


def etag(version: int) -> str:
    """FHIR's weak ETag for a version (`If-Match` sends it back)."""
    return f'W/"{version}"'


def officer_name(case: Case) -> str | None:
    """The filing officer's name as the agency is shown it (their work contact)."""
    name = (case.officer_contact or {}).get("name")
    return str(name) if name else None


def _requester(referral: Referral, name: str | None) -> dict[str, Any]:
    """The officer (or the referring system) who filed it: a logical reference by identifier."""
    requester: dict[str, Any] = {
        "type": "PractitionerRole",
        "identifier": {"system": codes.OFFICER_SYSTEM, "value": referral.officer_id},
    }
    if name:
        requester["display"] = name
    return requester


def _reason_entry(referral: Referral, entries: Sequence[HistoryEntry]) -> HistoryEntry | None:
    """The move that brought the referral to its present status (its reason and note)."""
    for entry in reversed(entries):
        if entry.to_status is referral.status:
            return entry
    return None


def _status_reason(referral: Referral, entries: Sequence[HistoryEntry]) -> dict[str, Any] | None:
    if referral.status not in codes.WITH_REASON:
        return None
    entry = _reason_entry(referral, entries)
    if entry is None or (entry.reason_code is None and not entry.note):
        return None
    reason: dict[str, Any] = {}
    words = []
    if entry.reason_code is not None:
        reason["coding"] = [{"system": codes.REASON_SYSTEM, "code": entry.reason_code.value}]
        words.append(entry.reason_code.value.replace("-", " ").capitalize())
    if entry.note:
        words.append(entry.note)
    reason["text"] = ": ".join(words)
    return reason


def task(
    referral: Referral,
    entries: Sequence[HistoryEntry],
    requester_name: str | None,
    agency_name: str | None = None,
) -> Resource:
    """The referral as a TaskForReferralManagement; `entries` as the reader may see them (the
    last one gives the status reason)."""
    resource: Resource = {
        "resourceType": "Task",
        "id": str(referral.id),
        "meta": _meta(referral.version, referral.updated_at, codes.TASK_PROFILE),
        "identifier": [
            {"system": codes.REFERRAL_SYSTEM, "value": str(referral.id)},
            {"use": "usual", "system": codes.REFERENCE_SYSTEM, "value": referral.reference},
        ],
        "status": codes.TASK_STATUS[referral.status],
        "businessStatus": {
            "coding": [{"system": codes.STATUS_SYSTEM, "code": referral.status.value}],
            "text": referral.status.value,
        },
        "intent": "order",
        "priority": codes.PRIORITY[referral.urgency],
        "code": {
            "coding": [
                {
                    "system": codes.TASK_CODE,
                    "code": "fulfill",
                    "display": "Fulfill the focal request",
                }
            ]
        },
        "focus": reference("ServiceRequest", referral.id),
        "for": reference("Patient", referral.case_id),
        "authoredOn": instant(referral.created_at),
        "lastModified": instant(referral.updated_at),
        "requester": _requester(referral, requester_name),
        "owner": reference("Organization", referral.agency_id, agency_name),
        "restriction": {"period": {"end": instant(referral.respond_by)}},
    }
    status_reason = _status_reason(referral, entries)
    if status_reason is not None:
        resource["statusReason"] = status_reason
    if referral.status is ReferralStatus.COMPLETED:
        resource["output"] = [_resulting_activity(referral, entries)]
    return resource


def _resulting_activity(referral: Referral, entries: Sequence[HistoryEntry]) -> dict[str, Any]:
    entry = _reason_entry(referral, entries)
    text = (entry.note if entry and entry.note else None) or referral.program_name
    activity: dict[str, Any] = {"coding": [codes.RESULTING_ACTIVITY]}
    if text:
        activity["text"] = text
    return {
        "type": {"coding": [{"system": codes.SDOHCC_CODES, "code": "resulting-activity"}]},
        "valueCodeableConcept": activity,
    }


def _categories(needs: Iterable[str]) -> list[dict[str, Any]]:
    categories = []
    for need in needs:
        code, display = codes.sdoh_category(need)
        categories.append(
            {
                "coding": [
                    {"system": codes.SDOHCC_CODES, "code": code, "display": display},
                    {"system": codes.NEED_SYSTEM, "code": need},
                ]
            }
        )
    return categories


def service_request(referral: Referral, case: Case, shared: sharing.Shared) -> Resource:
    """What the family is referred for, within what it agreed to share."""
    resource: Resource = {
        "resourceType": "ServiceRequest",
        "id": str(referral.id),
        "meta": _meta(referral.version, referral.updated_at, codes.SERVICE_REQUEST_PROFILE),
        "status": codes.SERVICE_REQUEST_STATUS[referral.status],
        "intent": "order",
        "priority": codes.PRIORITY[referral.urgency],
        "code": {
            "coding": [codes.REFERRAL_CODE],
            "text": f"Referral to {referral.program_name}" if referral.program_name else None,
        },
        "subject": reference("Patient", case.id),
        "authoredOn": instant(referral.created_at),
        "requester": _requester(referral, officer_name(case)),
        "performer": [reference("HealthcareService", referral.program_id, referral.program_name)],
        "supportingInfo": [reference("Consent", case.id)],
    }
    if resource["code"]["text"] is None:
        del resource["code"]["text"]
    if shared.needs:
        resource["category"] = _categories(shared.needs)
    if shared.situation:
        resource["note"] = [{"text": shared.situation}]
    contact = (shared.client or {}).get("contact", {})
    if contact.get("preferred_channel") in ("officer", "in-person"):
        resource["orderDetail"] = [
            {"coding": [{"system": codes.SDOHCC_CODES, "code": "contacting-subject-prohibited"}]}
        ]
    return resource


def _human_name(person: Mapping[str, Any]) -> dict[str, Any]:
    name: dict[str, Any] = {"given": [person["given_name"]]}
    if person.get("family_name"):
        name["family"] = person["family_name"]
    return name


def patient(case: Case, shared: sharing.Shared, *, redacted: bool) -> Resource:
    """The family's client: only the data the reader may see (nothing but its id without the
    `contact` scope, marked REDACTED)."""
    resource: Resource = {"resourceType": "Patient", "id": str(case.id)}
    meta = _meta(None, case.created_at)
    if redacted:
        meta["security"] = [
            {"system": codes.OBSERVATION_VALUE, "code": "REDACTED", "display": "redacted"}
        ]
    resource["meta"] = meta
    client = shared.client
    if not client:
        return resource
    resource["name"] = [_human_name(client)]
    if client.get("date_of_birth"):
        resource["birthDate"] = client["date_of_birth"]
    contact = client.get("contact", {})
    telecom = []
    if contact.get("phone"):
        telecom.append({"system": "phone", "value": contact["phone"], "use": "mobile"})
    if contact.get("email"):
        telecom.append({"system": "email", "value": contact["email"]})
    if telecom:
        resource["telecom"] = telecom
    if contact.get("preferred_language"):
        resource["communication"] = [
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": contact["preferred_language"]}]
                },
                "preferred": True,
            }
        ]
    if contact.get("interpreter_needed"):
        resource["extension"] = [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired",
                "valueBoolean": True,
            }
        ]
    household = client.get("household") or []
    if household:
        resource["contact"] = [
            {"relationship": [{"text": member["relationship"]}], "name": _human_name(member)}
            for member in household
        ]
    return resource


def consent(case: Case, *, full: bool) -> Resource:
    """The family's consent (an SDOHCC Consent, category IDSCL); `full` for its filing officer
    and admins (the guardian's name)."""
    given = case.consent
    title = f"{given.method} consent"
    if given.text_version:
        title += f", text {given.text_version}"
    performer: dict[str, Any]
    if given.given_by == "client":
        performer = reference("Patient", case.id)
    else:
        performer = {"type": "RelatedPerson", "display": "guardian"}
        if full and given.given_by_name:
            performer["display"] = given.given_by_name
    provision: dict[str, Any] = {
        "type": "permit",
        "period": {"start": instant(given.given_at)},
        "code": [
            {
                "coding": [
                    {
                        "system": codes.CONSENT_SCOPE_SYSTEM,
                        "code": scope.value,
                        "display": codes.SCOPE_DISPLAY[scope],
                    }
                ]
            }
            for scope in sorted(given.scopes)
        ],
    }
    if given.withdrawn_at is not None:
        provision["period"]["end"] = instant(given.withdrawn_at)
    return {
        "resourceType": "Consent",
        "id": str(case.id),
        "meta": _meta(None, given.withdrawn_at or given.given_at, codes.CONSENT_PROFILE),
        "extension": [{"url": codes.CONSENT_METHOD_EXTENSION, "valueCode": given.method}],
        "status": "active" if given.active else "inactive",
        "scope": {"coding": [{"system": codes.CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [
            {"coding": [{"system": codes.ACT_CODE, "code": "IDSCL"}]},
            {"coding": [{"system": codes.LOINC, "code": "59284-0"}]},
        ],
        "patient": reference("Patient", case.id),
        "dateTime": instant(given.given_at),
        "performer": [performer],
        "organization": [reference("Organization", codes.PLATFORM_ORGANIZATION, "Bridges")],
        "sourceAttachment": {"title": title},
        "policyRule": {"text": "Bridges: shared with the programs the family is referred to"},
        "provision": provision,
    }


def scopes_of(resource: Mapping[str, Any]) -> frozenset[ConsentScope]:
    """The Bridges consent scopes a Consent's provision codes name."""
    found = set()
    for concept in resource.get("provision", {}).get("code", []):
        for coding in concept.get("coding", []):
            if coding.get("system") == codes.CONSENT_SCOPE_SYSTEM:
                found.add(ConsentScope(coding["code"]))
    return frozenset(found)


def organization(organization_id: str, name: str) -> Resource:
    return {"resourceType": "Organization", "id": organization_id, "active": True, "name": name}


def healthcare_service(program: Program) -> Resource:
    resource: Resource = {
        "resourceType": "HealthcareService",
        "id": str(program.service_id),
        "meta": {"versionId": str(program.version)},
        "active": program.status == "active" and not program.deleted,
        "name": program.name,
    }
    if program.agency_id is not None:
        resource["providedBy"] = reference(
            "Organization", program.agency_id, program.organization_name
        )
    capacity = codes.CAPACITY.get(program.capacity_status)
    if capacity is not None:
        code, display = capacity if program.accepting_referrals else codes.CAPACITY["full"]
        resource["extension"] = [
            {
                "url": codes.CAPACITY_EXTENSION,
                "extension": [
                    {
                        "url": "capacityStatus",
                        "valueCodeableConcept": {
                            "coding": [
                                {"system": codes.SDOHCC_CODES, "code": code, "display": display}
                            ]
                        },
                    }
                ],
            }
        ]
    return resource


def searchset(
    resources: Sequence[Resource], self_url: str, next_url: str | None, base: str
) -> Resource:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }
