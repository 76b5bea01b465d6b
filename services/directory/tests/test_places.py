"""The geocoder over the directory's own locations, on the demo county through real HTTP and
PostgreSQL: postal codes and towns answer their centroid, address lines the locations at them;
bad input is a 422 problem."""

from __future__ import annotations

from statistics import fmean

import pytest

from bridges_directory import places
from bridges_directory.seed import demo_county

DATA = demo_county.build()
# (street, town, postal code, latitude, longitude) of every demo location
LOCATED = [
    (
        address["address_1"],
        address["city"],
        address["postal_code"],
        sal["location"]["latitude"],
        sal["location"]["longitude"],
    )
    for service in DATA["services"]
    for sal in service["service_at_locations"]
    for address in sal["location"]["addresses"]
]


def _centroid(keep) -> tuple[float, float]:
    kept = [(lat, lon) for street, town, code, lat, lon in LOCATED if keep(street, town, code)]
    assert kept
    return fmean(lat for lat, _ in kept), fmean(lon for _, lon in kept)


async def _places(directory, q: str, **params) -> list[dict]:
    async with directory.client() as c:
        response = await c.get("/places", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _at(place: dict, where: tuple[float, float]) -> bool:
    return (place["latitude"], place["longitude"]) == pytest.approx(where, abs=1e-5)


async def test_postal_codes_towns_and_addresses(seeded):
    by_code = await _places(seeded, "97910")
    assert by_code[0]["label"] == "Riverton, OR 97910" and by_code[0]["kind"] == "postal_code"
    assert _at(by_code[0], _centroid(lambda s, t, code: code == "97910"))
    assert [p["kind"] for p in by_code] == ["postal_code"]

    assert {p["label"] for p in await _places(seeded, "979")} == {
        f"{town.name}, OR {town.postal_code}" for town in demo_county.TOWNS.values()
    }

    riverton = _centroid(lambda s, town, c: town == "Riverton")
    for q in ("riverton", "RIVERTON", "  River "):
        towns = await _places(seeded, q)
        assert (towns[0]["label"], towns[0]["kind"]) == ("Riverton, OR", "city")
        assert _at(towns[0], riverton)

    mill = await _places(seeded, "214 Mill")
    assert [(p["label"], p["kind"]) for p in mill] == [
        ("214 Mill Street, Riverton, OR 97910", "address")
    ]
    assert _at(mill[0], _centroid(lambda street, t, c: street == "214 Mill Street"))

    by_street = {p["label"] for p in await _places(seeded, "court st")}
    assert by_street == {
        f"{street}, {town}, OR {code}"
        for street, town, code, *_ in LOCATED
        if "court st" in street.lower()
    }


async def test_a_comma_narrows_to_a_town_and_an_address_or_town_label_finds_itself(seeded):
    everywhere = await _places(seeded, "410 Eastgate")
    assert everywhere and all(p["kind"] == "address" for p in everywhere)
    assert await _places(seeded, "410 Eastgate, Riverton") == []
    towns_and_streets = await _places(seeded, "pine")
    assert {p["kind"] for p in towns_and_streets} == {"city", "address"}
    for place in [*everywhere, *towns_and_streets]:  # as the app shows a chosen place
        again = await _places(seeded, place["label"])
        assert again[0] == place, place["label"]


async def test_kinds_come_in_order_and_the_limit_holds(seeded):
    found = await _places(seeded, "ea", limit=50)  # Eastgate the town, Eastgate Boulevard...
    kinds = [p["kind"] for p in found]
    assert kinds == sorted(kinds, key=["postal_code", "city", "address"].index)
    assert len(await _places(seeded, "97", limit=2)) == 2


async def test_nothing_known_is_an_empty_list(seeded):
    assert await _places(seeded, "Atlantis") == []
    assert await _places(seeded, "100%") == []  # LIKE wildcards are text here
    assert await _places(seeded, "___") == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "a"},
        {"q": "  a  "},
        {"q": "x" * 201},
        {"q": "ab", "limit": 0},
        {"q": "ab", "limit": 51},
        {"q": "ab", "limit": "many"},
    ],
    ids=["missing", "empty", "short", "short-padded", "long", "limit-0", "limit-51", "limit-word"],
)
async def test_bad_input_is_a_422_problem(directory, params):
    async with directory.client() as c:
        response = await c.get("/places", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_public_and_documented(directory):
    async with directory.client() as c:
        operation = (await c.get("/openapi.json")).json()["paths"]["/places"]["get"]
    assert operation["tags"] == ["search"]
    assert "security" not in operation


@pytest.mark.parametrize(
    ("q", "parsed"),
    [
        ("214 Mill", ("214 mill", "")),
        ("  214   Mill ,  Riverton ,OR  97910 ", ("214 mill", "riverton, or 97910")),
        (", Riverton", ("riverton", "")),
    ],
)
def test_parse(q, parsed):
    assert places.parse(q) == parsed
