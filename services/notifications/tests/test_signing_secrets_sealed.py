"""Webhook signing secrets at rest, over real HTTP and PostgreSQL: no row of the endpoint table
holds a secret (current or previous, through rotation), deliveries are still signed with them,
and secrets stored plain before sealing are sealed when the service starts."""

from __future__ import annotations

import uuid
from typing import Any

from standardwebhooks.webhooks import Webhook

from bridges_devstack.testing import eventually
from bridges_kit.sealing import read_key_file
from bridges_kit.signing import new_secret
from bridges_notifications import signing_secrets


async def _rows(desk: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in await desk.pool.fetch("SELECT * FROM endpoint")]


def _holds(rows: list[dict[str, Any]], secret: str) -> bool:
    """Whether any value of any row holds the secret (or its key part) in the clear."""
    needles = {secret.encode(), secret.removeprefix("whsec_").encode()}
    for row in rows:
        for value in row.values():
            raw = value if isinstance(value, bytes) else str(value).encode()
            if any(n in raw for n in needles):
                return True
    return False


async def _signed_with(desk: Any, receiver: Any, secret: str) -> None:
    event = await desk.publish()

    async def arrived() -> bool:
        return event.id in receiver.ids()

    await eventually(arrived)
    [request] = [r for r in receiver.requests if r.headers["webhook-id"] == event.id]
    assert Webhook(secret).verify(request.body, request.headers)["id"] == event.id


async def test_no_row_holds_a_signing_secret_and_deliveries_are_signed_with_it(desk, receiver):
    created = await desk.endpoint(receiver.url)
    async with desk.client() as c:
        rotated = await c.post(
            f"/agencies/{desk.agency}/endpoints/{created['id']}/rotate-secret",
            json={"overlap_hours": 1},
        )
    assert rotated.status_code == 200, rotated.text
    rows = await _rows(desk)
    assert rows[0]["secret"] is None and rows[0]["previous_secret"] is None
    assert rows[0]["sealed_secret"] and rows[0]["sealed_previous_secret"]
    for secret in (created["secret"], rotated.json()["secret"]):
        assert not _holds(rows, secret)
        await _signed_with(desk, receiver, secret)  # both sign during the overlap


async def test_secrets_stored_plain_are_sealed_when_the_service_starts(start_desk, receiver, infra):
    first = await start_desk()
    legacy = new_secret()
    endpoint_id = uuid.uuid4()
    await first.pool.execute(
        """INSERT INTO endpoint (id, agency_id, url, secret, enabled, event_types)
           VALUES ($1, $2, $3, $4, true, '{}')""",
        endpoint_id,
        first.agency,
        receiver.url,
        legacy,
    )
    restarted = await start_desk()  # the same database: a restart after the upgrade
    rows = await _rows(restarted)
    assert not _holds(rows, legacy)
    [row] = [r for r in rows if r["id"] == endpoint_id]
    ring = read_key_file(infra.data_key_file)
    assert (
        signing_secrets.opened(ring, endpoint_id, row["data_key"], row["sealed_secret"]) == legacy
    )
    restarted.agency = first.agency
    await _signed_with(restarted, receiver, legacy)
