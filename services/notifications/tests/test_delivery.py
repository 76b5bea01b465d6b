"""Webhook and email delivery with real receivers and a real SMTP server: signatures and
rotation, retries, giving up, timeouts, SSRF refusal, circuit breaker, pause, replay."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.testing import eventually
from bridges_schema import ReferralStatus, Role


def _verify(secret: str, request) -> dict:
    return Webhook(secret).verify(request.body, request.headers)


async def _delivery(desk, event_id: str, status: str) -> bool:
    return bool(
        await desk.pool.fetchval(
            "SELECT 1 FROM delivery WHERE event_id = $1 AND status = $2", event_id, status
        )
    )


async def test_signature_verifies_with_the_secret_and_fails_with_another(desk, receiver):
    endpoint = await desk.endpoint(receiver.url)
    assert endpoint["secret"].startswith("whsec_")
    event = await desk.publish()
    await eventually(lambda: len(receiver.requests) == 1)
    request = receiver.requests[0]
    payload = _verify(endpoint["secret"], request)
    assert payload["id"] == event.id == request.headers["webhook-id"]
    assert payload["data"]["referral_id"] == str(event.data.referral_id)
    other = (await desk.endpoint(receiver.url))["secret"]
    with pytest.raises(WebhookVerificationError):
        _verify(other, request)
    async with desk.client() as c:  # the secret is never shown again
        listed = (await c.get(f"/agencies/{desk.agency}/endpoints")).json()
    assert all("secret" not in e for e in listed)


async def test_during_rotation_both_secrets_verify_then_only_the_new(desk, receiver):
    endpoint = await desk.endpoint(receiver.url)
    async with desk.client() as c:
        rotated = (
            await c.post(
                f"/agencies/{desk.agency}/endpoints/{endpoint['id']}/rotate-secret",
                json={"overlap_hours": 1},
            )
        ).json()
    assert rotated["secret"] != endpoint["secret"]
    await desk.publish()
    await eventually(lambda: len(receiver.requests) == 1)
    during = receiver.requests[0]
    _verify(endpoint["secret"], during)
    _verify(rotated["secret"], during)
    await desk.pool.execute("UPDATE endpoint SET previous_secret_until = now() - interval '1s'")
    await desk.publish()
    await eventually(lambda: len(receiver.requests) == 2)
    after = receiver.requests[1]
    _verify(rotated["secret"], after)
    with pytest.raises(WebhookVerificationError):
        _verify(endpoint["secret"], after)


async def test_two_failures_then_success_is_one_success_and_three_attempts(desk, receiver):
    await desk.endpoint(receiver.url)
    receiver.answer(500, 500)
    event = await desk.publish()
    await eventually(lambda: _delivery(desk, event.id, "succeeded"))
    attempts = await desk.attempts(event.id)
    assert [a["status_code"] for a in attempts] == [500, 500, 200]
    assert len(set(receiver.ids())) == 1 and len(receiver.requests) == 3
    types = [
        json.loads(bytes(r["payload"]))["type"]
        for r in await desk.pool.fetch("SELECT payload FROM outbox ORDER BY id")
    ]
    assert types == ["org.bridges.delivery.succeeded.v1"]


async def test_gone_is_not_retried_and_dead_letters(desk, receiver):
    endpoint = await desk.endpoint(receiver.url)
    receiver.answer(410)
    event = await desk.publish()
    await eventually(lambda: _delivery(desk, event.id, "dead"))
    assert [a["status_code"] for a in await desk.attempts(event.id)] == [410]
    async with desk.client(Role.OPS) as c:
        dead = (await c.get("/dead-letters")).json()
        replayed = (await c.post(f"/endpoints/{endpoint['id']}/replay-dead-letters")).json()
    assert [d["event_id"] for d in dead] == [event.id]
    assert replayed == {"replayed": 1}
    await eventually(lambda: _delivery(desk, event.id, "succeeded"))
    assert receiver.ids() == [event.id, event.id]


async def test_a_slow_receiver_times_out_and_is_retried(desk, receiver):
    await desk.endpoint(receiver.url)
    receiver.answer(200, delay_s=2.5)  # longer than the 1 s timeout
    event = await desk.publish()
    await eventually(lambda: _delivery(desk, event.id, "succeeded"), timeout_s=20)
    attempts = await desk.attempts(event.id)
    assert attempts[0]["error"] == "timeout" and attempts[-1]["status_code"] == 200


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hooks",
        "http://localhost:9/hooks",
        "ftp://example.org/hooks",
    ],
)
async def test_urls_reaching_inside_are_refused(start_desk, url):
    desk = await start_desk(BRIDGES_WEBHOOK_ALLOWED_NETWORKS="[]")
    async with desk.client() as c:
        response = await c.post(f"/agencies/{desk.agency}/endpoints", json={"url": url})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert await desk.pool.fetchval("SELECT count(*) FROM endpoint") == 0


async def test_an_address_that_turns_private_is_refused_at_delivery(start_desk, receiver):
    desk = await start_desk()
    await desk.endpoint(receiver.url)
    # the allowlist shrinks (or DNS now answers with a private address): no request goes out
    await desk.pool.execute("UPDATE endpoint SET url = 'http://10.255.255.1/hooks'")
    event = await desk.publish()
    await eventually(lambda: _delivery(desk, event.id, "dead"), timeout_s=20)
    attempts = await desk.attempts(event.id)
    assert all(a["error"].startswith("refused:") for a in attempts)
    assert receiver.requests == []


async def test_a_dead_endpoint_opens_its_circuit_without_delaying_others(start_desk):
    desk = await start_desk(
        BRIDGES_BREAKER_FAILURES="2",
        BRIDGES_BREAKER_FIRST_REST_S="600",
        BRIDGES_BREAKER_COOLDOWN_S="600",
        BRIDGES_DELIVERY_PER_ENDPOINT="1",
    )
    broken, healthy = WebhookReceiver(), WebhookReceiver()
    await broken.start()
    await healthy.start()
    try:
        broken.answer(*([503] * 50))
        elsewhere = uuid.uuid4()
        bad = await desk.endpoint(broken.url, agency=elsewhere)
        stuck = [await desk.publish(agency=elsewhere) for _ in range(3)]
        await desk.endpoint(healthy.url)

        async def opened() -> bool:
            return bool(
                await desk.pool.fetchval(
                    "SELECT circuit_open_until > now() FROM endpoint WHERE id = $1",
                    __import__("uuid").UUID(bad["id"]),
                )
            )

        await eventually(opened)
        fine = [await desk.publish() for _ in range(3)]
        await eventually(lambda: len(healthy.requests) == 3)
        assert sorted(healthy.ids()) == sorted(e.id for e in fine)
        # while open, the broken endpoint got no more than the failures that opened it
        assert len(broken.requests) == 2
        pending = await desk.pool.fetchval(
            "SELECT count(*) FROM delivery WHERE status = 'pending' AND event_id = ANY($1)",
            [e.id for e in stuck],
        )
        assert pending == 3  # waiting, not dead: no attempt is spent while the circuit rests
    finally:
        await broken.stop()
        await healthy.stop()


async def test_a_recovered_endpoint_is_probed_soon_not_after_the_longest_rest(start_desk):
    desk = await start_desk(
        BRIDGES_BREAKER_FAILURES="2",
        BRIDGES_BREAKER_FIRST_REST_S="0.5",
        BRIDGES_BREAKER_COOLDOWN_S="600",
        BRIDGES_WEBHOOK_RETRY_SCHEDULE_S="[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]",
        BRIDGES_DELIVERY_PER_ENDPOINT="4",
    )
    receiver = await WebhookReceiver().start()
    try:
        receiver.answer(503, 503, 503)  # down for its first three requests, then back
        await desk.endpoint(receiver.url)
        events = [await desk.publish() for _ in range(4)]
        started = time.monotonic()

        async def all_delivered() -> bool:
            return len(set(receiver.ids())) == 4 and all(
                [await _delivery(desk, e.id, "succeeded") for e in events]
            )

        await eventually(all_delivered, timeout_s=20)
        assert time.monotonic() - started < 15  # half-open probes after 0.5 s, 1 s, 2 s...
        assert len(receiver.requests) <= 4 + 3  # resting: one probe at a time, not a burst
    finally:
        await receiver.stop()


async def test_pause_holds_deliveries_and_resume_sends_them(desk, receiver):
    endpoint = await desk.endpoint(receiver.url)
    async with desk.client(Role.OPS) as c:
        paused = (await c.post(f"/endpoints/{endpoint['id']}/pause")).json()
    assert paused["paused"] is True
    held = await desk.publish()
    await eventually(lambda: _delivery(desk, held.id, "pending"))
    barrier = WebhookReceiver()
    await barrier.start()
    try:  # a second endpoint of the same agency gets the next event: the worker has run since
        await desk.endpoint(barrier.url)
        await desk.publish()
        await eventually(lambda: len(barrier.requests) == 1)
        assert receiver.requests == []
        async with desk.client(Role.OPS) as c:
            await c.post(f"/endpoints/{endpoint['id']}/resume")
        await eventually(lambda: len(receiver.requests) == 2)
        assert held.id in receiver.ids()
    finally:
        await barrier.stop()


async def test_agency_email_in_its_language_with_a_link_and_no_pii(start_desk, mailbox):
    desk = await start_desk(
        BRIDGES_SMTP_PORT=str(mailbox.port), BRIDGES_REFERRAL_LINK_BASE="https://bridges.test"
    )
    async with desk.client() as c:
        added = await c.post(
            f"/agencies/{desk.agency}/email-recipients",
            json={"address": "intake@pantry.example.org", "language": "es"},
        )
    assert added.status_code == 201, added.text
    event = await desk.publish()
    await eventually(lambda: len(mailbox.messages) == 1)
    mail = mailbox.messages[0]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    link = f"https://bridges.test/#/inbox/{event.data.referral_id}"
    assert mail["To"] == "intake@pantry.example.org"
    assert "Nueva derivación" in mail["Subject"] and "urgencia alta" in mail["Subject"]
    assert link in text and link in html
    for pii in ("Amara", "Quintanilla", "555 0142", "1988"):
        assert pii not in mail.as_string()
    await eventually(lambda: _delivery(desk, event.id, "succeeded"))


async def test_officer_gets_status_notices_when_asked(start_desk, mailbox):
    desk = await start_desk(BRIDGES_SMTP_PORT=str(mailbox.port))
    officer = desk.client(Role.OFFICER, sub=desk.officer, email="officer77@police.example.org")
    async with officer as c:
        response = await c.put("/officers/me/notifications", json={"language": "en"})
    assert response.json()["email"] == "officer77@police.example.org"
    await desk.publish(ReferralStatus.RECEIVED)  # not a notice-worthy change
    event = await desk.publish(ReferralStatus.ACCEPTED)
    await eventually(lambda: len(mailbox.messages) >= 1)
    await eventually(lambda: _delivery(desk, event.id, "succeeded"))
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["Subject"].endswith("is now accepted")


async def test_a_name_is_delivered_to_the_address_that_was_checked(start_desk, receiver):
    from bridges_notifications import netguard

    desk = await start_desk(BRIDGES_WEBHOOK_ALLOWED_NETWORKS='["127.0.0.0/8", "::1/128"]')
    allowed = netguard.parse_networks(["127.0.0.0/8", "::1/128"])
    pinned = await netguard.pin("https://localhost:8443/hooks?x=1", allowed)
    assert pinned.url == "https://127.0.0.1:8443/hooks?x=1"  # IPv4 preferred when offered
    assert (pinned.host_header, pinned.server_name) == ("localhost:8443", "localhost")
    # over the wire: the receiver sees its name in Host although the connection went to the IP
    await desk.endpoint(receiver.url.replace("127.0.0.1", "localhost"))
    await desk.publish()
    await eventually(lambda: len(receiver.requests) == 1)
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"
