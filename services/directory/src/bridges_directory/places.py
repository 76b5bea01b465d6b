"""A small geocoder over the directory's own locations, so an officer can search near a postal
code, a town or an address: what the directory's programs say about where they are, nothing
from outside. Reads only, on the pool."""

from __future__ import annotations

import re
from enum import StrEnum

import asyncpg
from pydantic import BaseModel

COORDINATE_DECIMALS = 5  # about a metre


class PlaceKind(StrEnum):
    POSTAL_CODE = "postal_code"
    CITY = "city"
    ADDRESS = "address"


class Place(BaseModel):
    label: str
    kind: PlaceKind
    latitude: float
    longitude: float


# Every physical address of a location some service is delivered at, with its coordinates.
# $1: the start of a postal code, town or street line (a LIKE prefix, lower case); $2: text the
# whole address must also contain ('' for any), e.g. the town after "214 Mill, "; $3: the limit;
# $4: the start as typed (an exact match ranks first); $5: $1 anywhere (a LIKE pattern the
# trigram index on location.place_text answers, see migration 004).
# A postal code or a town is the centroid of its locations; an address, of the locations at it.
PLACES_SQL = """
WITH address AS (
    SELECT l.latitude, l.longitude,
           nullif(btrim(a->>'address_1'), '') AS street,
           nullif(btrim(a->>'city'), '') AS city,
           nullif(btrim(a->>'state_province'), '') AS state,
           nullif(btrim(a->>'postal_code'), '') AS postal_code
    FROM location l
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(l.document->'addresses') = 'array'
             THEN l.document->'addresses' ELSE '[]'::jsonb END) AS a
    WHERE l.place_text LIKE $5
      AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL
      AND jsonb_typeof(a) = 'object'
      AND coalesce(a->>'address_type', 'physical') = 'physical'
      AND EXISTS (SELECT 1 FROM service_at_location sal WHERE sal.location_id = l.id)
), placed AS (
    SELECT *, concat_ws(', ', city, concat_ws(' ', state, postal_code)) AS place
    FROM address
    WHERE $2 = ''
       OR strpos(lower(concat_ws(', ', street, city, concat_ws(' ', state, postal_code))), $2) > 0
), found AS (
    SELECT 1 AS rank, 'postal_code' AS kind,
           concat_ws(' ', concat_ws(', ', mode() WITHIN GROUP (ORDER BY city),
                                    mode() WITHIN GROUP (ORDER BY state)), postal_code) AS label,
           lower(postal_code) = $4 AS exact,
           avg(latitude) AS latitude, avg(longitude) AS longitude, count(*) AS locations
    FROM placed WHERE lower(postal_code) LIKE $1
    GROUP BY postal_code
    UNION ALL
    SELECT 2, 'city', concat_ws(', ', min(city), state), lower(min(city)) = $4,
           avg(latitude), avg(longitude), count(*)
    FROM placed WHERE lower(city) LIKE $1
    GROUP BY lower(city), state
    UNION ALL
    SELECT 3, 'address', concat_ws(', ', min(street), min(place)),
           lower(min(street)) = $4, avg(latitude), avg(longitude), count(*)
    FROM placed WHERE lower(street) LIKE $1 OR lower(street) LIKE '% ' || $1
    GROUP BY lower(street), lower(place)
)
SELECT kind, label, latitude, longitude FROM found
ORDER BY rank, exact DESC, locations DESC, label
LIMIT $3
"""


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse(q: str) -> tuple[str, str]:
    """(what the place starts with, what its whole address must also contain): "214 Mill,
    Riverton" is a street line in Riverton. Spaces are collapsed and case is ignored."""
    first, _, rest = re.sub(r"\s*,\s*", ", ", " ".join(q.split())).lower().partition(",")
    first, rest = first.strip(), rest.strip(" ,")
    return (first, rest) if first else (rest, "")


async def find(pool: asyncpg.Pool, q: str, limit: int) -> list[Place]:
    """Postal codes, then towns, then addresses matching `q` (see `parse`), best first."""
    start, within = parse(q)
    escaped = _like(start)
    rows = await pool.fetch(PLACES_SQL, f"{escaped}%", within, limit, start, f"%{escaped}%")
    return [
        Place(
            label=r["label"],
            kind=PlaceKind(r["kind"]),
            latitude=round(r["latitude"], COORDINATE_DECIMALS),
            longitude=round(r["longitude"], COORDINATE_DECIMALS),
        )
        for r in rows
    ]
