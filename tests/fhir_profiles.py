"""The SDOH Clinical Care IG's rules the facade's resources must meet, as a table written from
the IG's profiles (HL7/fhir-sdoh-clinicalcare, input/fsh/profiles/*.fsh, STU 2.x / 3.0 ballot),
independent of the code under test; and a check that runs a resource through the FHIR models
(`fhir.resources`) and the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
# SDOHCC-ValueSetReferralTaskStatus: R4 TaskStatus excluding `ready` and `received`
REFERRAL_TASK_STATUS = {
    "draft",
    "requested",
    "accepted",
    "rejected",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
}
# SDOHCC-ValueSetSDOHCategory
SDOH_CATEGORY = {
    "sdoh-category-unspecified",
    "food-insecurity",
    "housing-instability",
    "homelessness",
    "inadequate-housing",
    "transportation-insecurity",
    "financial-insecurity",
    "material-hardship",
    "educational-attainment",
    "employment-status",
    "veteran-status",
    "stress",
    "social-connection",
    "intimate-partner-violence",
    "elder-abuse",
    "personal-health-literacy",
    "health-insurance-coverage-status",
    "medical-cost-burden",
    "digital-literacy",
    "digital-access",
    "utility-insecurity",
    "incarceration-status",
    "language-access",
    "protective-factor",
}
REQUEST_PRIORITY = {"routine", "urgent", "asap", "stat"}


@dataclass(frozen=True)
class Rule:
    resource: str
    element: str
    source: str  # where the IG says so
    holds: Callable[[dict[str, Any]], bool]


def _codes(concepts: list[dict[str, Any]] | None, system: str | None = None) -> set[str]:
    return {
        c.get("code")
        for concept in concepts or []
        for c in concept.get("coding", [])
        if system is None or c.get("system") == system
    }


def _ref(value: Any, kind: str) -> bool:
    return isinstance(value, dict) and str(value.get("reference", "")).startswith(f"{kind}/")


TASK_FSH = "SDOHCCTaskForReferralManagement.fsh"
RULES: list[Rule] = [
    Rule(
        "Task",
        "status",
        f"{TASK_FSH}: status from SDOHCCValueSetReferralTaskStatus (required)",
        lambda r: r["status"] in REFERRAL_TASK_STATUS,
    ),
    Rule(
        "Task", "intent", f"{TASK_FSH}: intent = #order (exactly)", lambda r: r["intent"] == "order"
    ),
    Rule(
        "Task",
        "code",
        f"{TASK_FSH}: code 1.. = $task-code#fulfill",
        lambda r: "fulfill" in _codes([r["code"]], "http://hl7.org/fhir/CodeSystem/task-code"),
    ),
    Rule(
        "Task",
        "focus",
        f"{TASK_FSH}: focus 1.. only Reference(SDOHCCServiceRequest)",
        lambda r: _ref(r.get("focus"), "ServiceRequest"),
    ),
    Rule("Task", "for", f"{TASK_FSH}: for 1.. (Patient)", lambda r: _ref(r.get("for"), "Patient")),
    Rule("Task", "authoredOn", f"{TASK_FSH}: authoredOn 1..", lambda r: bool(r.get("authoredOn"))),
    Rule(
        "Task",
        "requester",
        f"{TASK_FSH}: requester 1.. only Reference(SDOHCCPractitionerRole or Organization)",
        lambda r: (
            r.get("requester", {}).get("type") in ("PractitionerRole", "Organization")
            or _ref(r.get("requester"), "Organization")
        ),
    ),
    Rule(
        "Task",
        "owner",
        f"{TASK_FSH}: owner MS (the performing organization)",
        lambda r: _ref(r.get("owner"), "Organization"),
    ),
    Rule(
        "Task",
        "statusReason.text",
        f"{TASK_FSH}: statusReason.text 1.. (if rejected, cancelled, on-hold or failed)",
        lambda r: "statusReason" not in r or bool(r["statusReason"].get("text")),
    ),
    Rule(
        "Task",
        "output.type",
        f"{TASK_FSH}: output[PerformedActivityCode].type = #resulting-activity",
        lambda r: all(
            "resulting-activity" in _codes([o["type"]], SDOHCC) for o in r.get("output", [])
        ),
    ),
    Rule(
        "ServiceRequest",
        "category",
        "SDOHCCServiceRequest.fsh: category[SDOHCC] from SDOHCCValueSetSDOHCategory (required)",
        lambda r: all(
            _codes([c], SDOHCC) <= SDOH_CATEGORY and _codes([c], SDOHCC)
            for c in r.get("category", [])
        ),
    ),
    Rule(
        "ServiceRequest",
        "code",
        "us-core-servicerequest: code 1..1",
        lambda r: bool(_codes([r.get("code", {})])),
    ),
    Rule(
        "ServiceRequest",
        "subject",
        "us-core-servicerequest: subject 1..1 (Patient)",
        lambda r: _ref(r.get("subject"), "Patient"),
    ),
    Rule(
        "ServiceRequest",
        "priority",
        "SDOHCCServiceRequest.fsh: priority MS (request-priority)",
        lambda r: r.get("priority") in REQUEST_PRIORITY,
    ),
    Rule(
        "ServiceRequest",
        "supportingInfo",
        "SDOHCCServiceRequest.fsh: supportingInfo[SupportedSupportingInfo] only Reference(SDOHCCConsent)",
        lambda r: any(_ref(i, "Consent") for i in r.get("supportingInfo", [])),
    ),
    Rule(
        "Consent",
        "category",
        "SDOHCCConsent.fsh: category[IDSCL] 1..1 = $v3-ActCode#IDSCL",
        lambda r: (
            "IDSCL" in _codes(r.get("category"), "http://terminology.hl7.org/CodeSystem/v3-ActCode")
        ),
    ),
    Rule(
        "Consent",
        "patient",
        "SDOHCCConsent.fsh: patient 1..",
        lambda r: _ref(r.get("patient"), "Patient"),
    ),
    Rule(
        "Consent", "dateTime", "SDOHCCConsent.fsh: dateTime 1..", lambda r: bool(r.get("dateTime"))
    ),
    Rule(
        "Consent",
        "organization",
        "SDOHCCConsent.fsh: organization 1..1",
        lambda r: (
            len(r.get("organization", [])) == 1 and _ref(r["organization"][0], "Organization")
        ),
    ),
    Rule(
        "Consent",
        "source[x]",
        "SDOHCCConsent.fsh: source[x] 1..",
        lambda r: "sourceAttachment" in r or "sourceReference" in r,
    ),
    Rule(
        "Consent",
        "scope",
        "R4 Consent: scope 1..1 (patient-privacy for disclosure)",
        lambda r: "patient-privacy" in _codes([r.get("scope", {})]),
    ),
]


def check(resource: dict[str, Any]) -> list[str]:
    """What is wrong with `resource`: the FHIR models' errors, then every IG rule it breaks."""
    kind = resource["resourceType"]
    try:
        get_fhir_model_class(kind).model_validate(resource)
    except ValueError as exc:
        return [f"{kind}: not valid FHIR: {exc}"]
    return [
        f"{kind}.{rule.element}: {rule.source}"
        for rule in RULES
        if rule.resource == kind and not rule.holds(resource)
    ]
