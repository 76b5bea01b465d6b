"""A region-sized directory for benchmarks: plausible programs, reproducible from a seed.

`generate(20_000)` gives 20,000 services with about 60,000 locations across 150 towns, the demo
county's taxonomy, weekly schedules, languages, ages and coordinates. A bigger directory covers a
bigger region (more towns over more land, as a state has more than a metro area), so the density
of programs around any one place stays realistic. The same seed always gives the same dataset
(ids included), so benchmark runs compare like with like.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from bridges_directory.seed import demo_county

_SYLLABLES = (
    "al",
    "der",
    "ri",
    "ver",
    "ton",
    "mill",
    "brook",
    "ce",
    "dar",
    "east",
    "gate",
    "pine",
    "hol",
    "low",
    "mar",
    "wood",
    "ash",
    "fern",
    "glen",
    "ham",
    "lake",
    "stone",
    "ford",
    "by",
    "wick",
    "field",
    "crest",
    "dale",
    "vale",
    "port",
)
_SURNAMES = (
    "Hughes",
    "Alvarez",
    "Nguyen",
    "Okafor",
    "Petrov",
    "Kim",
    "Santos",
    "Walker",
    "Haddad",
    "Lindqvist",
    "Moreno",
    "Chen",
    "Dubois",
    "Yilmaz",
    "Abebe",
    "Novak",
)
_ORG_KINDS = (
    "Community Services",
    "Family Center",
    "Outreach",
    "Mission",
    "Alliance",
    "Health Network",
    "Legal Aid Society",
    "Youth Foundation",
    "Housing Trust",
)
# Program names by need, in English and (about one in five) Spanish.
_PROGRAM_KINDS: dict[str, tuple[str, ...]] = {
    "food.pantry": ("Food Pantry", "Food Bank", "Grocery Share", "Mobile Pantry", "Despensa"),
    "food.meals": ("Community Kitchen", "Hot Meals", "Soup Kitchen", "Comedor Comunitario"),
    "food.infant": ("WIC Clinic", "Diaper Bank", "Baby Pantry", "Banco de Pañales"),
    "housing.shelter": ("Family Shelter", "Emergency Shelter", "Warming Center", "Albergue"),
    "housing.rent": (
        "Rent Assistance",
        "Utility Help",
        "Eviction Prevention",
        "Ayuda con la Renta",
    ),
    "housing.transitional": ("Transitional Housing", "Bridge Apartments", "Vivienda Puente"),
    "mental-health.counselling": (
        "Counseling Center",
        "Family Therapy",
        "Grief Support",
        "Consejería Familiar",
    ),
    "mental-health.crisis": ("Crisis Line", "Mobile Crisis Team", "Línea de Crisis"),
    "youth.after-school": ("After-School Club", "Homework Center", "Teen Center", "Club de Tareas"),
    "youth.mentoring": ("Mentoring Program", "Youth Coaching", "Mentores Juveniles"),
    "youth.shelter": ("Youth Shelter", "Runaway Hotline"),
    "addiction.outpatient": ("Recovery Clinic", "Outpatient Treatment", "Tratamiento Ambulatorio"),
    "addiction.detox": ("Detox Unit", "Withdrawal Management"),
    "addiction.recovery": ("Recovery Café", "Peer Recovery", "Sober Living Support"),
    "family-violence.shelter": ("Safe House", "DV Shelter", "Casa Segura"),
    "family-violence.advocacy": ("Survivor Advocacy", "Protective Order Help"),
    "legal.tenant": ("Tenant Law Clinic", "Housing Court Help", "Derechos del Inquilino"),
    "legal.immigration": ("Immigration Clinic", "Citizenship Help", "Ayuda Migratoria"),
    "legal.family": ("Family Law Clinic", "Custody Help Desk"),
}
_DESCRIPTIONS = (
    "Free help for families, no appointment needed.",
    "Call ahead; walk-ins welcome when space allows.",
    "Bilingual staff. Servicios en español.",
    "Serving children, parents and seniors across the region.",
    "Confidential support from trained counselors and peers.",
    "Ayuda gratuita para familias, sin cita previa.",
    "Atención en español para niños, padres y personas mayores.",
)
_HOURS = (
    ("MO,TU,WE,TH,FR", "09:00", "17:00"),
    ("MO,WE,FR", "10:00", "14:00"),
    ("TU,TH", "12:00", "19:00"),
    ("SA,SU", "10:00", "16:00"),
    ("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),
    ("MO,TU,WE,TH,FR,SA,SU", "19:00", "07:00"),
)
_AGES = ((None, None), (None, None), (0, 5), (6, 17), (13, 24), (18, None), (60, None))
_LANGUAGES = ("es", "vi", "ru", "zh", "so", "ar", "tl")


def _town_names(rng: random.Random, count: int) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        names.add("".join(rng.sample(_SYLLABLES, rng.choice((2, 3)))).capitalize())
    return sorted(names)


def _id(rng: random.Random) -> str:
    return str(UUID(int=rng.getrandbits(128), version=4))


SERVICES_PER_TOWN = 133
BASE_SERVICES = 20_000  # a metro region: 2.5 x 3 degrees


def generate(services: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Datasets of at most 5,000 services each (import them in turn); the first has the taxonomy.

    A bigger directory covers a bigger region (more towns over more land, as a state has more
    than a metro area), so the density of programs around any one place stays realistic."""
    rng = random.Random(seed)
    taxonomy = demo_county.build()
    terms = {t["code"]: t["id"] for t in taxonomy["taxonomy_terms"]}
    towns = max(services // SERVICES_PER_TOWN, 10)
    scale = max(services / BASE_SERVICES, 1.0) ** 0.5  # area grows with the count
    places = [
        (
            name,
            44.0 + rng.random() * 2.5 * scale,
            -124.0 + rng.random() * 3.0 * scale,
            f"9{rng.randrange(10000):04d}",
        )
        for name in _town_names(rng, towns)
    ]
    organizations = [
        {"id": _id(rng), "name": f"{rng.choice(_SURNAMES)} {rng.choice(_ORG_KINDS)} {n}"}
        for n in range(max(services // 8, 1))
    ]
    batch: list[dict[str, Any]] = []
    for number in range(services):
        code = rng.choice(list(_PROGRAM_KINDS))
        town, lat, lon, postal = rng.choice(places)
        organization = rng.choice(organizations)
        minimum, maximum = rng.choice(_AGES)
        days, opens, closes = rng.choice(_HOURS)
        languages = ["en", *rng.sample(_LANGUAGES, rng.choice((0, 0, 1, 2)))]
        locations = []
        for _ in range(rng.choice((1, 2, 3, 3, 4, 5))):
            street = f"{rng.randrange(1, 3000)} {rng.choice(_SURNAMES)} Street"
            locations.append(
                {
                    "id": _id(rng),
                    "location": {
                        "id": _id(rng),
                        "name": f"{town} site",
                        "latitude": round(lat + rng.uniform(-0.05, 0.05), 5),
                        "longitude": round(lon + rng.uniform(-0.05, 0.05), 5),
                        "x_bridges": {"timezone": demo_county.TIMEZONE},
                        "addresses": [
                            {
                                "id": _id(rng),
                                "address_1": street,
                                "city": town,
                                "state_province": "OR",
                                "postal_code": postal,
                                "country": "US",
                            }
                        ],
                    },
                }
            )
        batch.append(
            {
                "id": _id(rng),
                "name": f"{town} {rng.choice(_PROGRAM_KINDS[code])}",
                "description": rng.choice(_DESCRIPTIONS),
                "status": "active",
                "minimum_age": minimum,
                "maximum_age": maximum,
                "organization": organization,
                "service_at_locations": locations,
                "attributes": [{"id": _id(rng), "taxonomy_term_id": terms[code]}],
                "schedules": [
                    {
                        "id": _id(rng),
                        "freq": "WEEKLY",
                        "byday": days,
                        "opens_at": opens,
                        "closes_at": closes,
                        "timezone": demo_county.UTC_OFFSET,
                    }
                ],
                "languages": [{"id": _id(rng), "code": code_} for code_ in languages],
                "service_areas": [{"id": _id(rng), "name": town}],
                "x_bridges": {
                    "agency_id": organization["id"],
                    "accepting_referrals": rng.random() > 0.1,
                    "capacity_status": rng.choice(
                        ("available", "available", "limited", "waitlist")
                    ),
                },
            }
        )
        if len(batch) == 5000 or number == services - 1:
            first = number < 5000
            yield {
                "taxonomies": [taxonomy["taxonomy"]] if first else [],
                "taxonomy_terms": taxonomy["taxonomy_terms"] if first else [],
                "services": batch,
            }
            batch = []
