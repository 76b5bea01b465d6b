"""Alder County: a fictional county's programs, as an HSDS 3.0 dataset.

The table below is the whole demo directory. Every id is a uuid5 of a readable key, so the
dataset is identical on every machine and loading it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

_NAMESPACE = uuid5(NAMESPACE_URL, "https://bridges.example.org/demo/alder-county")
UTC_OFFSET = -8  # HSDS 3.0 expresses a schedule's timezone as a UTC offset (standard time)
TIMEZONE = "America/Los_Angeles"  # what "open now" uses, daylight saving included


def demo_id(*parts: str) -> str:
    return str(uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Town:
    name: str
    postal_code: str
    latitude: float
    longitude: float


TOWNS = {
    "riverton": Town("Riverton", "97910", 45.0122, -123.0311),
    "millbrook": Town("Millbrook", "97915", 45.0834, -122.9127),
    "cedar-falls": Town("Cedar Falls", "97921", 44.9409, -123.1582),
    "eastgate": Town("Eastgate", "97925", 45.0291, -122.8402),
    "pine-hollow": Town("Pine Hollow", "97932", 44.8797, -122.9903),
}

# Bridges' taxonomy: (code, name, Spanish name, parent code, description).
TERMS: list[tuple[str, str, str, str | None, str]] = [
    ("food", "Food", "Comida", None, "Help getting enough to eat."),
    ("food.pantry", "Food Pantry", "Despensa de alimentos", "food", "Groceries to take home."),
    ("food.meals", "Hot Meals", "Comidas calientes", "food", "Free cooked meals served on site."),
    (
        "food.infant",
        "Infant and Maternal Nutrition",
        "Nutrición infantil y materna",
        "food",
        "Formula, baby food and WIC.",
    ),
    ("housing", "Housing", "Vivienda", None, "Shelter and help keeping a home."),
    ("housing.shelter", "Emergency Shelter", "Refugio de emergencia", "housing", "A bed tonight."),
    (
        "housing.rent",
        "Rent and Utility Assistance",
        "Ayuda con la renta y los servicios",
        "housing",
        "Help with rent or bills.",
    ),
    (
        "housing.transitional",
        "Transitional Housing",
        "Vivienda de transición",
        "housing",
        "Housing for up to two years.",
    ),
    ("mental-health", "Mental Health", "Salud mental", None, "Emotional and psychological care."),
    ("mental-health.counselling", "Counselling", "Consejería", "mental-health", "Talk therapy."),
    (
        "mental-health.crisis",
        "Crisis Support",
        "Apoyo en crisis",
        "mental-health",
        "Help in a crisis, day or night.",
    ),
    ("youth", "Youth", "Jóvenes", None, "Programs for children and teenagers."),
    (
        "youth.after-school",
        "After-School Programs",
        "Programas después de la escuela",
        "youth",
        "Care and activities after school.",
    ),
    ("youth.mentoring", "Mentoring", "Mentoría", "youth", "A trusted adult for a young person."),
    (
        "youth.shelter",
        "Runaway and Homeless Youth",
        "Jóvenes fugados y sin hogar",
        "youth",
        "Shelter for young people.",
    ),
    ("addiction", "Addiction", "Adicciones", None, "Treatment and recovery from substance use."),
    (
        "addiction.outpatient",
        "Outpatient Treatment",
        "Tratamiento ambulatorio",
        "addiction",
        "Treatment while living at home.",
    ),
    (
        "addiction.detox",
        "Withdrawal Management",
        "Desintoxicación",
        "addiction",
        "Supervised detox.",
    ),
    (
        "addiction.recovery",
        "Recovery Support",
        "Apoyo en la recuperación",
        "addiction",
        "Peer support and meetings.",
    ),
    (
        "family-violence",
        "Family Violence",
        "Violencia familiar",
        None,
        "Safety for people harmed at home.",
    ),
    (
        "family-violence.shelter",
        "Safe Shelter",
        "Refugio seguro",
        "family-violence",
        "Confidential shelter.",
    ),
    (
        "family-violence.advocacy",
        "Advocacy",
        "Defensa y acompañamiento",
        "family-violence",
        "Safety plans, court support.",
    ),
    ("legal", "Legal Aid", "Ayuda legal", None, "Free or low-cost legal help."),
    (
        "legal.tenant",
        "Tenant Rights",
        "Derechos de inquilinos",
        "legal",
        "Eviction defence and repairs.",
    ),
    ("legal.immigration", "Immigration", "Inmigración", "legal", "Status, DACA, asylum."),
    (
        "legal.family",
        "Family Law",
        "Derecho familiar",
        "legal",
        "Custody, protective orders, divorce.",
    ),
]

WEEKDAYS = "MO,TU,WE,TH,FR"


@dataclass(frozen=True)
class Program:
    key: str
    organization: str
    name: str
    term: str
    town: str
    street: str
    description: str
    hours: tuple[tuple[str, str, str], ...] = ((WEEKDAYS, "09:00", "17:00"),)
    languages: tuple[str, ...] = ("en",)
    ages: tuple[int | None, int | None] = (None, None)
    eligibility: str = ""
    fees: str = "Free."
    alternate_name: str | None = None
    accepting: bool = True
    capacity: str = "available"
    extra_terms: tuple[str, ...] = field(default_factory=tuple)
    checked: str = "2026-10-01"  # when its agency last said the listing is correct


LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "vi": "Vietnamese", "ru": "Russian"}

PROGRAMS: list[Program] = [
    Program(
        "riverton-food-bank",
        "Riverton Community Food Bank",
        "Riverton Community Food Bank",
        "food.pantry",
        "riverton",
        "214 Mill Street",
        "Weekly groceries for families: fresh produce, dairy, bread and staples. Diapers and "
        "baby formula when available. Bring a bag if you can.",
        ((WEEKDAYS, "10:00", "18:00"), ("SA", "09:00", "12:00")),
        ("en", "es"),
        eligibility="Alder County residents. No ID or proof of income needed.",
        extra_terms=("food.infant",),
    ),
    Program(
        "riverton-food-bank-mobile",
        "Riverton Community Food Bank",
        "Mobile Pantry",
        "food.pantry",
        "pine-hollow",
        "Pine Hollow Grange Hall, 30 Orchard Road",
        "A refrigerated truck that brings groceries to rural Pine Hollow every Thursday.",
        (("TH", "13:00", "16:00"),),
        ("en", "es"),
    ),
    Program(
        "st-brigid-kitchen",
        "St. Brigid's Parish",
        "St. Brigid's Community Kitchen",
        "food.meals",
        "riverton",
        "88 Church Street",
        "Hot lunch every day of the year, no questions asked. Take-away boxes for families.",
        (("MO,TU,WE,TH,FR,SA,SU", "11:30", "13:30"),),
    ),
    Program(
        "millbrook-pantry",
        "Millbrook Family Resource Center",
        "Millbrook Food Pantry",
        "food.pantry",
        "millbrook",
        "5 Station Road",
        "Groceries once a week and a fresh-produce market on Saturdays.",
        (("TU,TH", "12:00", "19:00"), ("SA", "10:00", "13:00")),
        ("en", "es", "vi"),
    ),
    Program(
        "wic-alder",
        "Alder County Health Department",
        "WIC Nutrition Program",
        "food.infant",
        "riverton",
        "1200 Court Street",
        "Healthy food, breastfeeding support and nutrition advice for pregnant people, new "
        "parents, infants and children under five.",
        languages=("en", "es", "ru"),
        ages=(0, 5),
        eligibility="Pregnant or postpartum, or caring for a child under 5; income limits apply.",
        alternate_name="Women, Infants and Children",
    ),
    Program(
        "eastgate-senior-meals",
        "Eastgate Community Center",
        "Eastgate Shared Meals",
        "food.meals",
        "eastgate",
        "410 Eastgate Boulevard",
        "Evening meals for anyone who is hungry, with a seniors' table and delivery for the "
        "homebound.",
        ((WEEKDAYS, "17:00", "19:00"),),
    ),
    Program(
        "harbor-house",
        "Harbor House",
        "Harbor House Family Shelter",
        "housing.shelter",
        "riverton",
        "19 Water Street",
        "Emergency shelter for families with children: private rooms, meals, laundry and a case "
        "manager. Intake 24 hours a day.",
        (("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),),
        ("en", "es"),
        eligibility="Families with at least one child under 18.",
        capacity="waitlist",
    ),
    Program(
        "riverton-winter-shelter",
        "Alder Interfaith Network",
        "Winter Warming Center",
        "housing.shelter",
        "riverton",
        "300 Front Street",
        "Overnight warming center for adults, November to March. Pets welcome.",
        (("MO,TU,WE,TH,FR,SA,SU", "19:00", "07:00"),),
        ages=(18, None),
    ),
    Program(
        "rent-relief",
        "Alder Community Action",
        "Rent and Utility Relief",
        "housing.rent",
        "millbrook",
        "77 Commerce Way",
        "One-time help with overdue rent, deposits and utility shutoff notices.",
        languages=("en", "es"),
        eligibility="Alder County renters at or below 60% of area median income.",
        extra_terms=("housing",),
    ),
    Program(
        "energy-assistance",
        "Alder Community Action",
        "Home Energy Assistance",
        "housing.rent",
        "millbrook",
        "77 Commerce Way",
        "Help paying heating bills and weatherizing homes.",
        languages=("en", "es"),
        accepting=False,
        capacity="full",
        checked="2026-03-02",  # not checked for months: officers see "may be out of date"
    ),
    Program(
        "bridgeway-transitional",
        "Bridgeway Housing",
        "Bridgeway Transitional Apartments",
        "housing.transitional",
        "cedar-falls",
        "1500 Alder Avenue",
        "Furnished apartments for up to 24 months with job coaching and budgeting classes.",
        eligibility="Families leaving shelter or homelessness.",
        capacity="limited",
    ),
    Program(
        "cedar-falls-counselling",
        "Cedar Falls Counseling Collective",
        "Sliding-Scale Counseling",
        "mental-health.counselling",
        "cedar-falls",
        "62 Falls Road",
        "Individual, couples and family therapy from licensed counselors. Fees based on income.",
        ((WEEKDAYS, "08:00", "20:00"),),
        ("en", "es"),
        fees="Sliding scale, $0 to $40.",
        alternate_name="Counselling for individuals and families",
    ),
    Program(
        "alder-crisis-line",
        "Alder County Behavioral Health",
        "Alder Crisis Line",
        "mental-health.crisis",
        "riverton",
        "1200 Court Street",
        "Call, text or walk in any time for support in a mental-health crisis. Mobile crisis "
        "team for the whole county.",
        (("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),),
        ("en", "es", "vi", "ru"),
    ),
    Program(
        "clinica-del-valle",
        "Clínica del Valle",
        "Clínica del Valle Salud Mental",
        "mental-health.counselling",
        "eastgate",
        "25 Main Street",
        "Bilingual mental-health care for Latino families: therapy, support groups and "
        "psychiatric care. Atención en español.",
        ((WEEKDAYS, "09:00", "18:00"),),
        ("es", "en"),
        fees="Sliding scale; no one turned away.",
    ),
    Program(
        "youth-counselling",
        "Alder County Behavioral Health",
        "Teen Counseling Program",
        "mental-health.counselling",
        "millbrook",
        "12 School Lane",
        "Confidential counseling for teenagers, at school or in the clinic.",
        ages=(12, 18),
        extra_terms=("youth",),
    ),
    Program(
        "boys-girls-club",
        "Alder Boys & Girls Club",
        "After-School Club",
        "youth.after-school",
        "riverton",
        "600 Park Avenue",
        "Homework help, sports, art and a hot snack for children aged 6 to 14.",
        ((WEEKDAYS, "14:30", "18:30"),),
        ages=(6, 14),
        fees="$10 a year; waived on request.",
    ),
    Program(
        "eastgate-after-school",
        "Eastgate Community Center",
        "Eastgate Kids Club",
        "youth.after-school",
        "eastgate",
        "410 Eastgate Boulevard",
        "After-school care with bilingual staff.",
        ((WEEKDAYS, "15:00", "18:00"),),
        ("en", "es"),
        ages=(5, 12),
        capacity="limited",
    ),
    Program(
        "big-brothers",
        "Alder Mentors",
        "Youth Mentoring Match",
        "youth.mentoring",
        "cedar-falls",
        "9 Library Square",
        "One-to-one mentoring: a volunteer meets a young person weekly for at least a year.",
        ages=(7, 17),
    ),
    Program(
        "safe-harbor-youth",
        "Harbor House",
        "Safe Harbor Youth Shelter",
        "youth.shelter",
        "riverton",
        "21 Water Street",
        "Shelter, meals and family mediation for young people who have run away or been "
        "thrown out.",
        (("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),),
        ages=(12, 20),
    ),
    Program(
        "new-paths-outpatient",
        "New Paths Recovery",
        "New Paths Outpatient",
        "addiction.outpatient",
        "riverton",
        "45 Hospital Drive",
        "Outpatient treatment for alcohol and drug use, including medication for opioid use "
        "disorder (buprenorphine).",
        ((WEEKDAYS, "07:00", "19:00"),),
        ("en", "es"),
        ages=(18, None),
    ),
    Program(
        "new-paths-detox",
        "New Paths Recovery",
        "Withdrawal Management Unit",
        "addiction.detox",
        "riverton",
        "45 Hospital Drive",
        "Medically supervised detox, 3 to 7 days.",
        (("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),),
        ages=(18, None),
        capacity="waitlist",
    ),
    Program(
        "teen-recovery",
        "New Paths Recovery",
        "Teen Recovery Program",
        "addiction.outpatient",
        "millbrook",
        "12 School Lane",
        "Substance-use treatment designed for adolescents, with family sessions.",
        ages=(13, 18),
        extra_terms=("youth",),
    ),
    Program(
        "recovery-cafe",
        "Pine Hollow Recovery Café",
        "Recovery Café",
        "addiction.recovery",
        "pine-hollow",
        "3 Orchard Road",
        "A drop-in community for people in recovery: meals, peer support and classes.",
        (("TU,WE,TH,FR,SA", "10:00", "16:00"),),
        checked="2026-04-14",
    ),
    Program(
        "peer-support",
        "Alder County Behavioral Health",
        "Peer Recovery Mentors",
        "addiction.recovery",
        "eastgate",
        "410 Eastgate Boulevard",
        "Certified peer mentors with lived experience help people stay in recovery.",
        languages=("en", "es"),
    ),
    Program(
        "haven-shelter",
        "Haven Alliance",
        "Haven Confidential Shelter",
        "family-violence.shelter",
        "riverton",
        "Confidential location",
        "Confidential shelter for survivors of domestic violence and their children. Call "
        "the 24-hour line; the address is shared only at intake.",
        (("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),),
        ("en", "es"),
        capacity="limited",
    ),
    Program(
        "haven-advocacy",
        "Haven Alliance",
        "Domestic Violence Advocacy",
        "family-violence.advocacy",
        "millbrook",
        "77 Commerce Way",
        "Safety planning, protective-order help and court accompaniment.",
        languages=("en", "es"),
        extra_terms=("legal.family",),
    ),
    Program(
        "sexual-assault-center",
        "Haven Alliance",
        "Sexual Assault Support",
        "family-violence.advocacy",
        "cedar-falls",
        "62 Falls Road",
        "Hospital accompaniment, counseling and advocacy for survivors of sexual assault.",
        (("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),),
    ),
    Program(
        "tenant-defense",
        "Alder Legal Aid",
        "Eviction Defense Clinic",
        "legal.tenant",
        "riverton",
        "1210 Court Street",
        "Free lawyers for tenants facing eviction; bring every notice you received.",
        (("MO,WE", "09:00", "16:00"),),
        ("en", "es"),
        eligibility="Household income at or below 200% of the poverty level.",
    ),
    Program(
        "immigration-legal",
        "Alder Legal Aid",
        "Immigration Legal Services",
        "legal.immigration",
        "eastgate",
        "25 Main Street",
        "Consultations on status, DACA renewals, asylum and family petitions. Servicios en "
        "español.",
        (("TU,TH", "10:00", "17:00"),),
        ("es", "en"),
    ),
    Program(
        "family-law-clinic",
        "Alder Legal Aid",
        "Family Law Clinic",
        "legal.family",
        "cedar-falls",
        "9 Library Square",
        "Help with custody, child support and protective orders.",
        (("WE", "13:00", "18:00"),),
        ("en", "es"),
    ),
    Program(
        "millbrook-frc",
        "Millbrook Family Resource Center",
        "Family Navigation",
        "housing.rent",
        "millbrook",
        "5 Station Road",
        "A navigator helps families apply for food stamps, health insurance and housing.",
        languages=("en", "es", "vi"),
        extra_terms=("food", "youth"),
    ),
    Program(
        "pine-hollow-youth",
        "Pine Hollow School District",
        "Rural Youth Outreach",
        "youth.mentoring",
        "pine-hollow",
        "1 School House Road",
        "Outreach workers who connect rural teens with school, jobs and counseling.",
        ages=(14, 21),
    ),
    Program(
        "diaper-bank",
        "Riverton Community Food Bank",
        "Alder Diaper Bank",
        "food.infant",
        "riverton",
        "214 Mill Street",
        "Diapers, wipes and formula for babies and toddlers, monthly.",
        (("WE,SA", "10:00", "13:00"),),
        ("en", "es"),
        ages=(0, 3),
    ),
]


def _taxonomy() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    taxonomy_id = demo_id("taxonomy")
    taxonomy = {
        "id": taxonomy_id,
        "name": "Bridges Needs",
        "description": "The needs officers refer families for.",
        "version": "1",
    }
    terms = [
        {
            "id": demo_id("term", code),
            "code": code,
            "name": name,
            "description": description,
            "parent_id": demo_id("term", parent) if parent else None,
            "taxonomy": "Bridges Needs",
            "taxonomy_id": taxonomy_id,
            "language": "en",
            "x_bridges": {"names": {"es": spanish}},
        }
        for code, name, spanish, parent, description in TERMS
    ]
    return taxonomy, terms


def _service(program: Program, terms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    town = TOWNS[program.town]
    org_key = program.organization.lower()
    service_id = demo_id("service", program.key)
    location_id = demo_id("location", program.key)
    minimum, maximum = program.ages
    return {
        "id": service_id,
        "name": program.name,
        "alternate_name": program.alternate_name,
        "description": program.description,
        "status": "active",
        "eligibility_description": program.eligibility or None,
        "fees_description": program.fees,
        "minimum_age": minimum,
        "maximum_age": maximum,
        "organization": {
            "id": demo_id("organization", org_key),
            "name": program.organization,
            "description": f"{program.organization}, serving Alder County.",
            "website": f"https://{program.key}.alder.example.org",
        },
        "service_at_locations": [
            {
                "id": demo_id("service_at_location", program.key),
                "location": {
                    "id": location_id,
                    "location_type": "physical",
                    "name": f"{program.name} ({town.name})",
                    "x_bridges": {"timezone": TIMEZONE},
                    # Spread programs in one town over a few hundred metres, deterministically.
                    "latitude": round(town.latitude + (UUID(location_id).int % 97 - 48) * 1e-4, 5),
                    "longitude": round(
                        town.longitude + (UUID(location_id).int % 89 - 44) * 1e-4, 5
                    ),
                    "addresses": [
                        {
                            "id": demo_id("address", program.key),
                            "address_1": program.street,
                            "city": town.name,
                            "region": "Alder County",
                            "state_province": "OR",
                            "postal_code": town.postal_code,
                            "country": "US",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        ],
        "attributes": [
            {
                "id": demo_id("attribute", program.key, code),
                "taxonomy_term_id": terms[code]["id"],
            }
            for code in (program.term, *program.extra_terms)
        ],
        "phones": [
            {
                "id": demo_id("phone", program.key),
                "number": f"503-555-{UUID(service_id).int % 9000 + 1000}",
                "type": "voice",
            }
        ],
        "schedules": [
            {
                "id": demo_id("schedule", program.key, str(index)),
                "freq": "WEEKLY",
                "byday": days,
                "opens_at": opens,
                "closes_at": closes,
                "timezone": UTC_OFFSET,
            }
            for index, (days, opens, closes) in enumerate(program.hours)
        ],
        "service_areas": [
            {"id": demo_id("service_area", program.key), "name": "Alder County"},
            {"id": demo_id("service_area", program.key, "town"), "name": town.name},
        ],
        "languages": [
            {
                "id": demo_id("language", program.key, code),
                "code": code,
                "name": LANGUAGE_NAMES[code],
            }
            for code in program.languages
        ],
        "x_bridges": {
            "agency_id": demo_id("agency", org_key),
            "accepting_referrals": program.accepting,
            "capacity_status": program.capacity,
            "last_verified": program.checked,
        },
    }


def build() -> dict[str, Any]:
    """The dataset `seed.load` takes: {"taxonomy", "taxonomy_terms", "services"}."""
    taxonomy, terms = _taxonomy()
    by_code = {term["code"]: term for term in terms}
    return {
        "taxonomy": taxonomy,
        "taxonomy_terms": terms,
        "services": [_service(program, by_code) for program in PROGRAMS],
    }
