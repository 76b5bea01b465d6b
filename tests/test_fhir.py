"""The FHIR facade over real HTTP, PostgreSQL and NATS: a referral filed in the app is a
conformant Task (+ ServiceRequest, Patient within consent, Consent) that its agency moves
through FHIR with the inbox seeing the same; an EHR's inbound Task files a referral; polling.
Every resource is checked by the FHIR models and the IG's table (tests/fhir_profiles.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from bridges_devstack import samples
from bridges_devstack.testing import eventually
from bridges_schema import Role
from tests import fhir_profiles
from tests.scenario import FAMILY_NAME, create_program, intake

FHIR_BASE = "https://bridges.example.org/fhir"  # the systems Bridges names its codes and ids in

pytestmark = pytest.mark.e2e

FHIR_JSON = "application/fhir+json"


async def _file(stack: Any, program_id: str, **overrides: Any) -> dict[str, Any]:
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        filed = await c.post(
            "/referrals",
            json=intake([program_id], **overrides),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    assert filed.status_code == 201, filed.text
    return filed.json()


async def _get(stack: Any, role: Role, path: str, **claims: Any) -> Any:
    async with stack.referrals.client(stack.token(role, **claims)) as c:
        return await c.get(path)


def _valid(resource: dict[str, Any]) -> dict[str, Any]:
    assert fhir_profiles.check(resource) == []
    return resource


@pytest.fixture(scope="module")
async def program(module_stack) -> dict[str, Any]:
    return await create_program(module_stack)


async def test_capability_statement_is_public_and_names_the_recipients_interactions(module_stack):
    async with module_stack.referrals.client() as c:
        r = await c.get("/fhir/metadata")
    assert r.status_code == 200 and r.headers["content-type"] == FHIR_JSON
    statement = _valid(r.json())
    assert statement["fhirVersion"] == "4.0.1"
    task = next(x for x in statement["rest"][0]["resource"] if x["type"] == "Task")
    assert {i["code"] for i in task["interaction"]} >= {"read", "search-type", "update", "create"}
    shall = {
        p["name"]
        for p in task["searchParam"]
        if p.get("extension", [{}])[0].get("valueCode") == "SHALL"
    }
    assert shall == {"_id", "code", "patient", "requester", "status", "focus"}
    reads = {x["type"] for x in statement["rest"][0]["resource"]}
    assert reads >= {"ServiceRequest", "Consent", "Patient", "Organization", "HealthcareService"}


async def test_a_referral_filed_in_the_app_is_a_conformant_task_its_agency_moves_through_fhir(
    module_stack, program
):
    stack = module_stack
    filed = await _file(stack, program["id"])
    referral_id, case_id = filed["referrals"][0]["id"], filed["case_id"]

    r = await _get(stack, Role.AGENCY_STAFF, f"/fhir/Task/{referral_id}")
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"1"'
    task = _valid(r.json())
    assert task["status"] == "requested" and task["priority"] == "urgent"
    assert task["owner"]["reference"] == f"Organization/{stack.agency_id}"
    assert task["focus"]["reference"] == f"ServiceRequest/{referral_id}"
    assert task["for"]["reference"] == f"Patient/{case_id}"
    # the short reference the family and the officer quote on the phone, as a usual identifier
    reference = filed["referrals"][0]["reference"]
    assert {"use": "usual", "system": f"{FHIR_BASE}/reference", "value": reference} in task[
        "identifier"
    ]
    service_request = _valid(
        (await _get(stack, Role.AGENCY_STAFF, f"/fhir/ServiceRequest/{referral_id}")).json()
    )
    assert service_request["performer"][0]["reference"] == f"HealthcareService/{program['id']}"
    _valid((await _get(stack, Role.AGENCY_STAFF, f"/fhir/Consent/{case_id}")).json())
    _valid((await _get(stack, Role.AGENCY_STAFF, f"/fhir/Patient/{case_id}")).json())
    org = await _get(stack, Role.AGENCY_STAFF, f"/fhir/Organization/{stack.agency_id}")
    assert org.status_code == 200 and org.json()["name"] == program["organization"]["name"]
    service = await _get(stack, Role.OFFICER, f"/fhir/HealthcareService/{program['id']}")
    assert _valid(service.json())["name"] == program["name"]

    staff = stack.token(Role.AGENCY_STAFF)
    async with stack.referrals.client(staff) as c:
        # opened: Bridges' `received` is FHIR's `requested`, kept in businessStatus
        received = dict(
            task,
            businessStatus={
                "coding": [
                    {"system": task["businessStatus"]["coding"][0]["system"], "code": "received"}
                ]
            },
        )
        r = await c.put(f"/fhir/Task/{referral_id}", json=received, headers={"If-Match": 'W/"1"'})
        assert r.status_code == 200, r.text
        assert (
            r.json()["status"] == "requested" and r.json()["businessStatus"]["text"] == "received"
        )
        assert r.headers["ETag"] == 'W/"2"'

        stale = await c.put(
            f"/fhir/Task/{referral_id}",
            json=dict(task, status="accepted"),
            headers={"If-Match": 'W/"1"'},
        )
        assert stale.status_code == 412 and stale.headers["content-type"] == FHIR_JSON
        assert stale.json()["resourceType"] == "OperationOutcome"

        current = r.json()
        meddled = dict(current, status="accepted", priority="routine")
        refused = await c.put(
            f"/fhir/Task/{referral_id}", json=meddled, headers={"If-Match": 'W/"2"'}
        )
        assert refused.status_code == 422
        assert refused.json()["issue"][0]["expression"] == ["Task.priority"]

        no_version = await c.put(f"/fhir/Task/{referral_id}", json=current)
        assert no_version.status_code == 428

        accepted = await c.put(
            f"/fhir/Task/{referral_id}",
            json=dict(current, status="accepted"),
            headers={"If-Match": 'W/"2"'},
        )
        assert accepted.status_code == 200, accepted.text
        illegal = await c.put(
            f"/fhir/Task/{referral_id}",
            json=dict(accepted.json(), status="requested"),
            headers={"If-Match": 'W/"3"'},
        )
        assert illegal.status_code == 409  # the lifecycle's rule, as in the inbox
        done = dict(
            accepted.json(),
            status="completed",
            output=[
                {
                    "type": {
                        "coding": [{"system": fhir_profiles.SDOHCC, "code": "resulting-activity"}]
                    },
                    "valueCodeableConcept": {"text": "Groceries for two weeks"},
                }
            ],
        )
        completed = await c.put(
            f"/fhir/Task/{referral_id}", json=done, headers={"If-Match": 'W/"3"'}
        )
        assert completed.status_code == 200, completed.text
        assert (
            _valid(completed.json())["output"][0]["valueCodeableConcept"]["text"]
            == "Groceries for two weeks"
        )
        inbox = (await c.get(f"/referrals/{referral_id}")).json()
    assert inbox["status"] == "completed"
    assert [h["to_status"] for h in inbox["history"]] == [
        "requested",
        "received",
        "accepted",
        "completed",
    ]
    async with stack.referrals.client(stack.token(Role.ADMIN)) as c:
        moves = (
            await c.get(
                "/audit", params={"referral_id": referral_id, "action": "referral.status_changed"}
            )
        ).json()
    assert len(moves) == 3  # each FHIR update audited as the inbox's moves are


async def test_a_declined_task_carries_its_reason_as_status_reason_text(module_stack, program):
    stack = module_stack
    referral_id = (await _file(stack, program["id"]))["referrals"][0]["id"]
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        task = (await c.get(f"/fhir/Task/{referral_id}")).json()
        declined = dict(
            task,
            status="rejected",
            statusReason={
                "coding": [
                    {
                        "system": "https://bridges.example.org/fhir/CodeSystem/reason-code",
                        "code": "at-capacity",
                    }
                ],
                "text": "At capacity",
            },
        )
        r = await c.put(f"/fhir/Task/{referral_id}", json=declined, headers={"If-Match": 'W/"1"'})
        assert r.status_code == 200, r.text
        assert _valid(r.json())["statusReason"]["text"].startswith("At capacity")
        inbox = (await c.get(f"/referrals/{referral_id}")).json()
    assert inbox["status"] == "rejected"
    assert inbox["history"][-1]["reason_code"] == "at-capacity"


async def test_fhir_reads_that_show_a_note_or_the_guardians_name_are_audited(module_stack, program):
    stack = module_stack
    consent = {
        "given_by": "guardian",
        "given_by_name": "Mariam Quintanilla",
        "method": "verbal",
        "given_at": datetime.now(UTC).isoformat(),
        "scopes": ["contact", "needs"],
    }
    filed = await _file(stack, program["id"], consent=consent)
    referral_id, case_id = filed["referrals"][0]["id"], filed["case_id"]
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        accepted = await c.post(
            f"/referrals/{referral_id}/transitions",
            json={"to": "accepted", "note": "Spoke to the guardian."},
            headers={"If-Match": '"1"'},
        )
        assert accepted.status_code == 200, accepted.text
        task = await c.get(f"/fhir/Task/{referral_id}")
        agency_consent = await c.get(f"/fhir/Consent/{case_id}")
    officer_consent = await _get(stack, Role.OFFICER, f"/fhir/Consent/{case_id}")
    assert task.status_code == agency_consent.status_code == officer_consent.status_code == 200
    assert "Mariam" not in agency_consent.text and "Mariam" in officer_consent.text
    reads = await stack.referrals.runtime.pool.fetch(
        """SELECT actor_role, detail FROM audit_log
           WHERE case_id = $1 AND action = 'pii.read' AND detail->>'via' = 'fhir' ORDER BY id""",
        uuid.UUID(case_id),
    )
    details = [(r["actor_role"], r["detail"]) for r in reads]
    assert ("agency_staff", {"notes": 1, "via": "fhir"}) in details  # the Task with its note
    assert ("officer", {"guardian_name": True, "via": "fhir"}) in details
    assert len(details) == 2  # the agency's Consent shows no name: nothing to record


async def test_another_agency_sees_no_task_and_cannot_move_one(module_stack, program):
    stack = module_stack
    filed = await _file(stack, program["id"])
    referral_id = filed["referrals"][0]["id"]
    stranger = stack.token(Role.AGENCY_STAFF, agency_id=uuid.uuid4())
    async with stack.referrals.client(stranger) as c:
        assert (await c.get(f"/fhir/Task/{referral_id}")).status_code == 404
        assert (await c.get(f"/fhir/Patient/{filed['case_id']}")).status_code == 404
        search = (await c.get("/fhir/Task", params={"_id": referral_id})).json()
        assert search.get("entry", []) == []
        r = await c.put(
            f"/fhir/Task/{referral_id}",
            json={"resourceType": "Task"},
            headers={"If-Match": 'W/"1"'},
        )
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("scopes", "shown"),
    [
        (["contact"], {"name"}),
        (["contact", "household"], {"name", "contact"}),
        (["contact", "needs"], {"name", "category"}),
        (["contact", "situation"], {"name", "note"}),
    ],
)
async def test_patient_and_service_request_carry_only_what_the_family_agreed_to_share(
    module_stack, program, scopes, shown
):
    stack = module_stack
    filed = await _file(stack, program["id"], consent=samples.consent(*scopes))
    referral_id, case_id = filed["referrals"][0]["id"], filed["case_id"]
    patient = _valid((await _get(stack, Role.AGENCY_STAFF, f"/fhir/Patient/{case_id}")).json())
    request = _valid(
        (await _get(stack, Role.AGENCY_STAFF, f"/fhir/ServiceRequest/{referral_id}")).json()
    )
    assert patient["name"][0]["family"] == FAMILY_NAME
    assert ("contact" in patient) == ("contact" in shown)
    assert ("category" in request) == ("category" in shown)
    assert ("note" in request) == ("note" in shown)
    # the filing officer sees everything the case holds
    full = (await _get(stack, Role.OFFICER, f"/fhir/Patient/{case_id}")).json()
    assert "contact" in full


async def test_after_consent_is_withdrawn_the_patient_is_redacted(module_stack, program):
    stack = module_stack
    filed = await _file(stack, program["id"])
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        r = await c.post(f"/cases/{filed['case_id']}/consent/withdrawal", json={})
        assert r.status_code == 200
    patient = (await _get(stack, Role.AGENCY_STAFF, f"/fhir/Patient/{filed['case_id']}")).json()
    assert "name" not in patient and "telecom" not in patient
    assert patient["meta"]["security"][0]["code"] == "REDACTED"
    consent = _valid(
        (await _get(stack, Role.AGENCY_STAFF, f"/fhir/Consent/{filed['case_id']}")).json()
    )
    assert consent["status"] == "inactive"


def _inbound_task(program_id: str, identifier: str, *, with_consent: bool = True) -> dict[str, Any]:
    contained: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": "patient",
            "name": [{"family": "Nakamura", "given": ["Rei"]}],
            "birthDate": "1979-03-14",
            "telecom": [{"system": "phone", "value": "+1 503 555 0199"}],
        },
        {
            "resourceType": "ServiceRequest",
            "id": "request",
            "status": "active",
            "intent": "order",
            "category": [{"coding": [{"system": fhir_profiles.SDOHCC, "code": "food-insecurity"}]}],
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]},
            "subject": {"reference": "#patient"},
            "priority": "urgent",
            "performer": [{"reference": f"HealthcareService/{program_id}"}],
            "supportingInfo": [{"reference": "#consent"}] if with_consent else [],
        },
    ]
    if with_consent:
        contained.append(
            {
                "resourceType": "Consent",
                "id": "consent",
                "status": "active",
                "scope": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                            "code": "patient-privacy",
                        }
                    ]
                },
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                "code": "IDSCL",
                            }
                        ]
                    }
                ],
                "patient": {"reference": "#patient"},
                "dateTime": datetime.now(UTC).isoformat(),
                "sourceAttachment": {"title": "signed form"},
                "policyRule": {"text": "clinic consent"},
            }
        )
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "identifier": [{"system": "urn:example:ehr", "value": identifier}],
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]
        },
        "contained": contained,
        "focus": {"reference": "#request"},
        "for": {"reference": "#patient"},
        "authoredOn": datetime.now(UTC).isoformat(),
    }


async def test_an_ehrs_inbound_task_files_a_referral_once(module_stack, program):
    stack = module_stack
    body = _inbound_task(program["id"], uuid.uuid4().hex)
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        created = await c.post("/fhir/Task", json=body, headers={"content-type": FHIR_JSON})
        assert created.status_code == 201, created.text
        task = _valid(created.json())
        assert created.headers["Location"].endswith(f"/fhir/Task/{task['id']}/_history/1")
        again = await c.post("/fhir/Task", json=body)
        assert again.status_code == 200 and again.json()["id"] == task["id"]
    referral = (await _get(stack, Role.AGENCY_STAFF, f"/referrals/{task['id']}")).json()
    assert referral["urgency"] == "high" and referral["needs"] == ["food-insecurity"]
    assert referral["client"]["family_name"] == "Nakamura"


async def test_an_inbound_task_without_consent_is_refused_with_an_operation_outcome(
    module_stack, program
):
    stack = module_stack
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        before = (await c.get("/referrals")).json()["items"]
        r = await c.post(
            "/fhir/Task", json=_inbound_task(program["id"], "no-consent", with_consent=False)
        )
        assert r.status_code == 422 and r.headers["content-type"] == FHIR_JSON
        outcome = _valid(r.json())
        assert outcome["issue"][0]["expression"] == ["ServiceRequest.supportingInfo"]
        invalid = await c.post(
            "/fhir/Task",
            json={"resourceType": "Task", "status": "requested", "intent": "order", "bogus": 1},
        )
        assert invalid.status_code == 422
        assert any("bogus" in i["expression"][0] for i in invalid.json()["issue"])
        assert (await c.get("/referrals")).json()["items"] == before


async def test_polling_by_owner_and_last_updated_returns_what_changed_since(module_stack, program):
    stack = module_stack
    since = datetime.now(UTC).isoformat()
    first = (await _file(stack, program["id"]))["referrals"][0]["id"]
    second = (await _file(stack, program["id"]))["referrals"][0]["id"]
    owner = f"Organization/{stack.agency_id}"
    r = await _get(
        stack,
        Role.AGENCY_STAFF,
        f"/fhir/Task?owner={owner}&_lastUpdated=gt{since.replace('+', '%2B')}&_count=1",
    )
    assert r.status_code == 200, r.text
    bundle = _valid(r.json())
    assert [e["resource"]["id"] for e in bundle["entry"]] == [first]
    next_url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    page2 = (
        await _get(stack, Role.AGENCY_STAFF, next_url.split("/fhir", 1)[1].join(["/fhir", ""]))
    ).json()
    assert second in [e["resource"]["id"] for e in page2["entry"]]
    for entry in page2["entry"]:
        _valid(entry["resource"])
    later = datetime.now(UTC).isoformat().replace("+", "%2B")
    empty = (
        await _get(stack, Role.AGENCY_STAFF, f"/fhir/Task?owner={owner}&_lastUpdated=gt{later}")
    ).json()
    assert empty.get("entry", []) == []
    bad = await _get(stack, Role.AGENCY_STAFF, "/fhir/Task?_lastUpdated=yesterday")
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


async def test_a_rest_hook_subscription_is_told_id_only_and_signed_like_webhooks(
    module_stack, module_receiver, program
):
    stack = module_stack
    subscription = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "our agency's referrals",
        "criteria": f"Task?owner=Organization/{stack.agency_id}",
        "channel": {
            "type": "rest-hook",
            "endpoint": module_receiver.url,
            "payload": FHIR_JSON,
            "_payload": {
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content",
                        "valueCode": "id-only",
                    }
                ]
            },
        },
    }
    async with stack.referrals.client(stack.token(Role.ADMIN)) as c:
        created = await c.post("/fhir/Subscription", json=subscription)
        assert created.status_code == 201, created.text
        secret = created.json()["extension"][0]["valueString"]
        shown = (await c.get(f"/fhir/Subscription/{created.json()['id']}")).json()
        assert shown["status"] == "active" and "extension" not in shown  # the secret, once
        full = dict(
            subscription,
            channel=dict(
                subscription["channel"],
                _payload={
                    "extension": [
                        {
                            "url": subscription["channel"]["_payload"]["extension"][0]["url"],
                            "valueCode": "full-resource",
                        }
                    ]
                },
            ),
        )
        assert (await c.post("/fhir/Subscription", json=full)).status_code == 422
    seen = len(module_receiver.requests)
    referral_id = (await _file(stack, program["id"]))["referrals"][0]["id"]

    async def told() -> Any:
        for hook in module_receiver.requests[seen:]:
            if referral_id.encode() in hook.body:
                return hook
        return None

    hook = await eventually(told)
    bundle = Webhook(secret).verify(hook.body, hook.headers)
    _valid(bundle)
    assert bundle["type"] == "history"
    assert bundle["entry"][1]["fullUrl"].endswith(f"/fhir/Task/{referral_id}")
    assert "resource" not in bundle["entry"][1]  # id-only
    assert FAMILY_NAME.encode() not in hook.body
    async with stack.referrals.client(stack.token(Role.ADMIN)) as c:
        off = await c.delete(f"/fhir/Subscription/{created.json()['id']}")
        assert off.json()["status"] == "off"
