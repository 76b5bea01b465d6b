"""Faults lose nothing: a referral filed while nats-server is down still reaches the agency, once."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import httpx
import pytest

from bridges_devstack.testing import eventually
from bridges_schema import Role
from tests.conftest import Stack, start_stack
from tests.scenario import create_program, intake, register_endpoint

pytestmark = pytest.mark.e2e


async def test_referral_filed_while_nats_is_down_is_delivered_once_after_restart(
    stack, receiver, infra
):
    if infra.nats is None:
        pytest.skip("needs the embedded nats-server to stop and start it")
    program = await create_program(stack)
    await register_endpoint(stack, receiver.url)
    officer = stack.referrals.client(stack.token(Role.OFFICER))

    await asyncio.to_thread(infra.nats.stop)
    try:
        async with officer as c:
            filed = await c.post(
                "/referrals",
                json=intake([program["id"]]),
                headers={"Idempotency-Key": "during-outage-1"},
            )
        assert filed.status_code == 201, filed.text  # PostgreSQL alone takes the intake
        pool = stack.referrals.runtime.pool
        waiting = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert waiting == 1  # parked in the outbox while the bus is away
    finally:
        await asyncio.to_thread(infra.nats.start)

    async def delivered() -> bool:
        return len(receiver.requests) >= 1

    await eventually(delivered, timeout_s=45)
    # barrier: a second referral after the restart; once its webhook is in, nothing else is due
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        after = await c.post(
            "/referrals",
            json=intake([program["id"]]),
            headers={"Idempotency-Key": "after-outage-1"},
        )
    assert after.status_code == 201

    async def both() -> bool:
        return len({r.headers["webhook-id"] for r in receiver.requests}) >= 2

    await eventually(both, timeout_s=30)
    referral_ids = [json.loads(r.body)["data"]["referral_id"] for r in receiver.requests]
    assert referral_ids.count(filed.json()["referrals"][0]["id"]) == 1
    assert len(receiver.requests) == 2


async def test_a_postgresql_restart_is_a_503_meanwhile_and_loses_nothing(stack, receiver, infra):
    if infra.postgres is None:
        pytest.skip("needs the embedded PostgreSQL to stop and start it")
    program = await create_program(stack)
    await register_endpoint(stack, receiver.url)
    officer = stack.token(Role.OFFICER)
    async with stack.referrals.client(officer) as c:
        before = await c.post(
            "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": "pg-before-1"}
        )
    assert before.status_code == 201

    await asyncio.to_thread(infra.postgres.stop)
    try:
        async with stack.referrals.client(officer) as c:
            during = await c.post(
                "/referrals",
                json=intake([program["id"]]),
                headers={"Idempotency-Key": "pg-during-1"},
            )
            ready = await c.get("/readyz")
        async with stack.directory.client() as c:
            search = await c.get("/services", params={"search": "pantry"})
    finally:
        await asyncio.to_thread(infra.postgres.start)
    for response in (during, ready, search):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"]
        assert response.headers["content-type"] == "application/problem+json"

    async def ready_again() -> bool:
        for service in (stack.directory, stack.referrals, stack.notifications):
            async with service.client() as c:
                if (await c.get("/readyz")).status_code != 200:
                    return False
        return True

    await eventually(ready_again, timeout_s=30)
    async with stack.referrals.client(officer) as c:  # the retry the 503 asked for
        after = await c.post(
            "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": "pg-during-1"}
        )
    assert after.status_code == 201
    expected = {before.json()["referrals"][0]["id"], after.json()["referrals"][0]["id"]}

    async def both_delivered() -> bool:
        return {json.loads(r.body)["data"]["referral_id"] for r in receiver.requests} == expected

    await eventually(both_delivered, timeout_s=45)
    assert len(receiver.requests) == 2  # once each
    pool = stack.referrals.runtime.pool
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    assert not any(t.done() for t in stack.referrals.runtime._tasks)  # no worker died


@pytest.fixture
async def narrow_stack(infra, services_factory) -> Stack:
    """The stack with a referrals process of two pooled connections that waits 0.5 s for one."""
    narrow = {"BRIDGES_DB_POOL_MAX": "2", "BRIDGES_DB_ACQUIRE_TIMEOUT_S": "0.5"}
    return await start_stack(infra, services_factory, referrals=narrow)


async def test_a_saturated_database_is_a_503_with_retry_after_and_changes_nothing(narrow_stack):
    """PostgreSQL so busy that every pooled connection is stuck (here: behind a lock): one more
    intake waits at most the acquire timeout and is refused with a 503, never queued without
    end; once PostgreSQL is free, the stuck ones finish and the refused ones, retried with their
    Idempotency-Key, are filed once."""
    stack = narrow_stack
    program = await create_program(stack)
    officer = stack.token(Role.OFFICER)
    pool = stack.referrals.runtime.pool
    blocker = await asyncpg.connect(stack.infra.postgres_url("referrals"))
    await blocker.execute(f'SET search_path = "{stack.namespace}", public')
    blocked = blocker.transaction()
    await blocked.start()
    await blocker.execute("LOCK TABLE referral_case IN ACCESS EXCLUSIVE MODE")
    try:
        async with stack.referrals.client(officer) as c:

            async def file(key: str) -> httpx.Response:
                return await c.post(
                    "/referrals", json=intake([program["id"]]), headers={"Idempotency-Key": key}
                )

            keys = [f"saturated-{n}" for n in range(6)]
            stuck = [asyncio.create_task(file(k)) for k in keys[:2]]

            async def both_connections_stuck() -> bool:
                waiting = await blocker.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass",
                    f'"{stack.namespace}".referral_case',
                )
                return waiting >= 2

            await eventually(both_connections_stuck, timeout_s=15)
            refused = await asyncio.gather(*(file(k) for k in keys[2:]))
            for answer in refused:
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"]
                assert answer.headers["content-type"] == "application/problem+json"
            await blocked.rollback()  # PostgreSQL is free again
            assert [(await task).status_code for task in stuck] == [201, 201]
            retried = [await file(k) for k in keys[2:]]
            assert [r.status_code for r in retried] == [201] * 4
    finally:
        await blocker.close()
    stored = await pool.fetchval("SELECT count(*) FROM referral_case")
    assert stored == len(keys)  # each filed once: a 503 stored nothing
