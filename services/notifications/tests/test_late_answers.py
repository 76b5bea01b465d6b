"""A webhook answered after its timeout, over real HTTP: the attempt stands as a timeout (the
delivery goes again with the same webhook-id) and the late answer is logged with its status."""

from __future__ import annotations

import structlog
from notifications_fakes import webhook_delivery

from bridges_devstack.testing import eventually
from bridges_notifications import netguard
from bridges_notifications.transports import WebhookTransport


async def test_an_answer_after_the_timeout_is_logged_and_the_attempt_is_a_timeout(receiver):
    receiver.answer(200, delay_s=0.45)
    transport = WebhookTransport(0.3, netguard.parse_networks(["127.0.0.0/8"]), 4)
    delivery = webhook_delivery(receiver.url)
    try:
        with structlog.testing.capture_logs() as logs:
            result = await transport.send(delivery)
            assert (result.status_code, result.error) == (None, "timeout")

            async def logged() -> bool:
                return any(e["event"] == "webhook_answered_late" for e in logs)

            await eventually(logged, timeout_s=5)
    finally:
        await transport.close()
    [late] = [e for e in logs if e["event"] == "webhook_answered_late"]
    assert late["status"] == 200 and late["delivery_id"] == str(delivery.id)
    assert late["webhook_id"] == delivery.event_id and late["after_ms"] >= 450
    assert len(receiver.requests) == 1
