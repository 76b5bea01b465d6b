"""The facade's CapabilityStatement: what `/fhir` serves, in the shape of the SDOH Clinical Care
IG's Referral Recipient (Task read, search and update by its owner; ServiceRequest, Consent,
Patient, Organization and HealthcareService read; inbound Task create; rest-hook Subscription)."""

from __future__ import annotations

from typing import Any

from bridges_referrals.fhir import codes

EXPECTATION = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation"

# (name, type, definition, SHALL/SHOULD): the IG's Task search parameters for a recipient
TASK_SEARCH = (
    ("_id", "token", "http://hl7.org/fhir/SearchParameter/Resource-id", "SHALL"),
    ("code", "token", "http://hl7.org/fhir/SearchParameter/Task-code", "SHALL"),
    ("patient", "reference", "http://hl7.org/fhir/SearchParameter/Task-patient", "SHALL"),
    ("requester", "reference", "http://hl7.org/fhir/SearchParameter/Task-requester", "SHALL"),
    ("status", "token", "http://hl7.org/fhir/SearchParameter/Task-status", "SHALL"),
    ("focus", "reference", "http://hl7.org/fhir/SearchParameter/Task-focus", "SHALL"),
    ("owner", "reference", "http://hl7.org/fhir/SearchParameter/Task-owner", "SHOULD"),
    ("_lastUpdated", "date", "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated", "SHOULD"),
)

READ_ONLY = (
    ("ServiceRequest", codes.SERVICE_REQUEST_PROFILE),
    ("Consent", codes.CONSENT_PROFILE),
    ("Patient", None),
    ("Organization", None),
    ("HealthcareService", None),
)


def _expect(level: str) -> list[dict[str, str]]:
    return [{"url": EXPECTATION, "valueCode": level}]


def _interaction(code: str, documentation: str) -> dict[str, Any]:
    return {"code": code, "documentation": documentation}


def capability_statement(base_url: str, software_version: str) -> dict[str, Any]:
    task: dict[str, Any] = {
        "type": "Task",
        "supportedProfile": [codes.TASK_PROFILE],
        "documentation": "A referral: its status from Bridges' lifecycle (`received` is "
        "reported as `requested`, Bridges' own status in businessStatus). Versioned: "
        'ETag W/"<version>", update with If-Match.',
        "interaction": [
            _interaction("read", "A referral the caller may see"),
            _interaction(
                "search-type", "Polling: owner=Organization/<id>&_lastUpdated=gt<instant>"
            ),
            _interaction(
                "update",
                "By the Task's owner (agency staff): only status, statusReason and output "
                "change, with the inbox's rules",
            ),
            _interaction(
                "create",
                "Inbound referral: a Task whose contained ServiceRequest, Patient and Consent "
                "file a Bridges referral to the ServiceRequest's performer (a HealthcareService)",
            ),
        ],
        "versioning": "versioned-update",
        "readHistory": False,
        "updateCreate": False,
        "conditionalCreate": False,
        "searchParam": [
            {"name": name, "type": kind, "definition": definition, "extension": _expect(level)}
            for name, kind, definition, level in TASK_SEARCH
        ]
        + [{"name": "_count", "type": "number", "documentation": "page size, 1 to 200"}],
    }
    resources: list[dict[str, Any]] = [task]
    for kind, profile in READ_ONLY:
        resource: dict[str, Any] = {"type": kind, "interaction": [{"code": "read"}]}
        if profile:
            resource["supportedProfile"] = [profile]
        resources.append(resource)
    resources.append(
        {
            "type": "Subscription",
            "documentation": "R5 backport style: rest-hook, id-only content, on Tasks whose "
            "owner is the criteria's Organization; notifications are signed like Bridges' "
            "webhooks (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature)",
            "interaction": [{"code": "create"}, {"code": "read"}, {"code": "delete"}],
        }
    )
    return {
        "resourceType": "CapabilityStatement",
        "id": "bridges",
        "url": f"{base_url}/metadata",
        "name": "BridgesReferralRecipient",
        "title": "Bridges referrals: FHIR referral recipient",
        "status": "active",
        "date": "2026-12-08",
        "publisher": "Bridges",
        "kind": "instance",
        "instantiates": [codes.RECIPIENT_CAPABILITY],
        "software": {"name": "Bridges referrals", "version": software_version},
        "implementation": {"description": "Bridges referrals FHIR facade", "url": base_url},
        "fhirVersion": codes.FHIR_VERSION,
        "format": ["json", codes.FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "documentation": "Bridges' referrals as the SDOH Clinical Care IG speaks them.",
                "security": {
                    "cors": True,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer tokens from Bridges' OpenID provider; an agency's "
                    "system is a client of the agency (client credentials), its token carrying "
                    "the agency's id as agency staff's does.",
                },
                "resource": resources,
            }
        ],
    }
