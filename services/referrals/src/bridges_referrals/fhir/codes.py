"""What the FHIR facade's codes mean: the code systems it uses, and Bridges' values mapped onto
the SDOH Clinical Care IG's value sets and back (pure)."""

from __future__ import annotations

from bridges_referrals.domain import ConsentScope
from bridges_schema import CapacityStatus, ReferralStatus, Urgency

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"

IG = "http://hl7.org/fhir/us/sdoh-clinicalcare"
TASK_PROFILE = f"{IG}/StructureDefinition/SDOHCC-TaskForReferralManagement"
SERVICE_REQUEST_PROFILE = f"{IG}/StructureDefinition/SDOHCC-ServiceRequest"
CONSENT_PROFILE = f"{IG}/StructureDefinition/SDOHCC-Consent"
HEALTHCARE_SERVICE_PROFILE = (
    f"{IG}/StructureDefinition/SDOHCC-HealthcareServiceForReferralManagement"
)
CAPACITY_EXTENSION = f"{IG}/StructureDefinition/SDOHCC-ExtensionHealthcareServiceCapacityStatus"
SDOHCC_CODES = f"{IG}/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
RECIPIENT_CAPABILITY = f"{IG}/CapabilityStatement/SDOHCC-ReferralRecipient"

TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
OBSERVATION_VALUE = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

# Bridges' own systems (its ids and codes, where FHIR has none)
BRIDGES = "https://bridges.example.org/fhir"
STATUS_SYSTEM = f"{BRIDGES}/CodeSystem/referral-status"
REASON_SYSTEM = f"{BRIDGES}/CodeSystem/reason-code"
NEED_SYSTEM = f"{BRIDGES}/CodeSystem/need"
CONSENT_SCOPE_SYSTEM = f"{BRIDGES}/CodeSystem/consent-scope"
CONSENT_METHOD_EXTENSION = f"{BRIDGES}/StructureDefinition/consent-method"
OFFICER_SYSTEM = f"{BRIDGES}/officer"
REFERRAL_SYSTEM = f"{BRIDGES}/referral"
# the short human reference (BR-7K3F9) the family, the officer and the agency quote on the phone
REFERENCE_SYSTEM = f"{BRIDGES}/reference"
# The Organization that is Bridges itself: the coordination platform keeping the consents.
PLATFORM_ORGANIZATION = "bridges"

# A referral for a service (SNOMED CT 3457005 |Patient referral (procedure)|): what every
# ServiceRequest asks for; the program it goes to is its performer.
REFERRAL_CODE = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
# What a completed referral's Task.output says was done (SNOMED CT 410606002 |Social service
# procedure (procedure)|), the output type the IG names `resulting-activity`.
RESULTING_ACTIVITY = {"system": SNOMED, "code": "410606002", "display": "Social service procedure"}

S = ReferralStatus

# The IG's referral Task status value set is R4 Task status without `ready` and `received`:
# Bridges' `received` is reported as `requested`, its own status kept in businessStatus.
TASK_STATUS: dict[ReferralStatus, str] = {
    status: ("requested" if status is S.RECEIVED else status.value) for status in S
}
REFERRAL_TASK_STATUSES = frozenset(
    {
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
)
WITH_REASON = frozenset({S.REJECTED, S.CANCELLED, S.ON_HOLD, S.FAILED})

# ServiceRequest.status: the request stands while the referral is open
SERVICE_REQUEST_STATUS: dict[ReferralStatus, str] = {
    **dict.fromkeys(S, "active"),
    S.ON_HOLD: "on-hold",
    S.COMPLETED: "completed",
    S.REJECTED: "revoked",
    S.CANCELLED: "revoked",
    S.FAILED: "revoked",
}

PRIORITY: dict[Urgency, str] = {
    Urgency.ROUTINE: "routine",
    Urgency.HIGH: "urgent",
    Urgency.EMERGENCY: "asap",
}
URGENCY_OF_PRIORITY: dict[str, Urgency] = {
    "routine": Urgency.ROUTINE,
    "urgent": Urgency.HIGH,
    "asap": Urgency.EMERGENCY,
    "stat": Urgency.EMERGENCY,
}

# Bridges' need codes (the directory's taxonomy, "food.pantry") by their first part, onto the
# IG's SDOH categories (SDOHCC-ValueSetSDOHCategory); anything else is `sdoh-category-unspecified`.
SDOH_CATEGORY: dict[str, tuple[str, str]] = {
    "food": ("food-insecurity", "Food Insecurity"),
    "housing": ("housing-instability", "Housing Instability"),
    "homelessness": ("homelessness", "Homelessness"),
    "transport": ("transportation-insecurity", "Transportation Insecurity"),
    "transportation": ("transportation-insecurity", "Transportation Insecurity"),
    "employment": ("employment-status", "Employment Status"),
    "financial": ("financial-insecurity", "Financial Insecurity"),
    "utilities": ("utility-insecurity", "Utility Insecurity"),
    "family-violence": ("intimate-partner-violence", "Intimate Partner Violence"),
    "mental-health": ("stress", "Stress"),
    "education": ("educational-attainment", "Educational Attainment"),
}
UNSPECIFIED_CATEGORY = ("sdoh-category-unspecified", "SDOH Category Unspecified")
SDOH_CATEGORIES = frozenset(code for code, _ in SDOH_CATEGORY.values()) | {
    UNSPECIFIED_CATEGORY[0],
    "inadequate-housing",
    "material-hardship",
    "veteran-status",
    "social-connection",
    "elder-abuse",
    "personal-health-literacy",
    "health-insurance-coverage-status",
    "medical-cost-burden",
    "digital-literacy",
    "digital-access",
    "incarceration-status",
    "language-access",
    "protective-factor",
}


def sdoh_category(need_code: str) -> tuple[str, str]:
    return SDOH_CATEGORY.get(need_code.split(".", 1)[0], UNSPECIFIED_CATEGORY)


CAPACITY: dict[str, tuple[str, str]] = {
    CapacityStatus.AVAILABLE.value: ("capacity", "Has Capacity"),
    CapacityStatus.LIMITED.value: ("capacity", "Has Capacity"),
    CapacityStatus.WAITLIST.value: ("waitlist", "No Capacity - Has Waitlist"),
    CapacityStatus.FULL.value: ("no-capacity", "No Capacity"),
}

SCOPE_DISPLAY: dict[ConsentScope, str] = {
    ConsentScope.CONTACT: "Names, birth date and how to reach the family",
    ConsentScope.HOUSEHOLD: "The household's members",
    ConsentScope.NEEDS: "The family's needs",
    ConsentScope.SITUATION: "The officer's account of the situation and notes",
}
