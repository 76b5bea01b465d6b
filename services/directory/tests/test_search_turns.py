"""Searches take turns at the database (`queries.SearchTurns`): at most so many at once, the
others in line, first come first served, counted by `bridges_searches_waiting`."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, Gauge

from bridges_devstack.testing import eventually
from bridges_directory.queries import SearchTurns


class Waiting:
    """The gauge of searches in line, and what it reads."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.gauge = Gauge("waiting", "searches in line", registry=self.registry)

    def __call__(self) -> float | None:
        return self.registry.get_sample_value("waiting")


async def test_no_more_than_so_many_at_once_and_the_rest_in_arrival_order() -> None:
    waiting = Waiting()
    turns = SearchTurns(2, waiting.gauge)
    inside: set[int] = set()
    most = 0
    order: list[int] = []
    release = asyncio.Event()

    async def search(number: int) -> None:
        nonlocal most
        async with turns.turn():
            order.append(number)
            inside.add(number)
            most = max(most, len(inside))
            await release.wait()
            inside.discard(number)

    tasks = []
    for number in range(6):
        tasks.append(asyncio.create_task(search(number)))
        await asyncio.sleep(0)  # each arrives after the one before
    await eventually(lambda: len(inside) == 2 and waiting() == 4)
    assert inside == {0, 1}
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert most == 2
    assert order == [0, 1, 2, 3, 4, 5]
    assert waiting() == 0


async def test_a_search_that_fails_or_is_cancelled_gives_its_turn_back() -> None:
    waiting = Waiting()
    turns = SearchTurns(1, waiting.gauge)
    with pytest.raises(RuntimeError):
        async with turns.turn():
            raise RuntimeError("the database went away")
    holder = asyncio.Event()

    async def hold() -> None:
        async with turns.turn():
            holder.set()
            await asyncio.Event().wait()

    held = asyncio.create_task(hold())
    await asyncio.wait_for(holder.wait(), 5)
    queued = asyncio.create_task(_one_turn(turns))
    await eventually(lambda: waiting() == 1)
    queued.cancel()  # the client left while in line
    await asyncio.gather(queued, return_exceptions=True)
    assert waiting() == 0
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)
    await asyncio.wait_for(_one_turn(turns), 5)  # both turns came back


async def _one_turn(turns: SearchTurns) -> None:
    async with turns.turn():
        pass


async def test_the_service_lines_searches_up_and_answers_each_in_its_turn(seeded) -> None:
    turns: SearchTurns = seeded.server.config.app.state.searches.turns
    async with seeded.client() as client:
        alone = (await client.get("/services", params={"search": "food"})).json()
        assert alone["contents"]
        # every turn taken (4 by default): the searches wait in line
        async with turns.turn(), turns.turn(), turns.turn(), turns.turn():
            waiting = [
                asyncio.create_task(client.get("/services", params={"search": "food"}))
                for _ in range(3)
            ]

            async def lined_up() -> bool:
                metrics = (await client.get("/metrics")).text
                return "bridges_searches_waiting 3.0" in metrics

            await eventually(lined_up)
            assert not any(task.done() for task in waiting)
        answers = await asyncio.wait_for(asyncio.gather(*waiting), 15)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json() == alone for a in answers)
