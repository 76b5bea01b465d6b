"""What the directory derives from an HSDS service to find it fast (pure functions, no I/O).

- Search text in four weights (A: names, B: organization and needs in every language, C:
  description and eligibility, D: languages, audiences, places), kept as the stems `matching`
  compares ("Clínica" and "clinica" alike), and the vocabulary typo correction draws on.
- Filter values: taxonomy term ids, language codes and names, service-area names, ages.
- Places as the cells of a grid (`search_cells`), so "near a point" reads the few cells a circle
  covers.
- Opening hours as weekly slots, each with the time zone it is kept in and the dates it is
  valid (closures split them); `is_open` is the reference meaning of "open at", which the SQL
  in `repository` implements for the index.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from bridges_directory import hsds, matching
from bridges_directory.lexicon import LEXICON

ISO_WEEKDAY = {code: number for number, code in enumerate(hsds.WEEKDAY_CODES, start=1)}
END_OF_DAY = time(23, 59, 59, 999999)

# Common referral languages: code -> names an officer might type (English and native).
LANGUAGE_NAMES: Mapping[str, tuple[str, ...]] = {
    "en": ("english",),
    "es": ("spanish", "español"),
    "vi": ("vietnamese", "tiếng việt"),
    "ru": ("russian", "русский"),
    "zh": ("chinese", "mandarin", "cantonese", "中文"),
    "fr": ("french", "français"),
    "ar": ("arabic", "العربية"),
    "so": ("somali", "soomaali"),
    "tl": ("tagalog", "filipino"),
    "ko": ("korean", "한국어"),
    "pt": ("portuguese", "português"),
    "uk": ("ukrainian", "українська"),
    "hmn": ("hmong",),
    "ht": ("haitian creole", "kreyòl"),
    "fa": ("farsi", "persian"),
    "asl": ("american sign language", "sign language"),
}

# Audience words by age band (inclusive years): a service serving any age in a band gets its words.
AGE_BANDS: tuple[tuple[float, float, str], ...] = (
    (0, 1, "infant baby babies newborn"),
    (1, 3, "toddler toddlers"),
    (4, 12, "child children kid kids"),
    (13, 17, "teen teens teenager adolescent youth"),
    (18, 24, "young adult"),
    (18, 64, "adult adults"),
    (65, 130, "senior seniors elder elderly"),
)


def fold(text: str) -> str:
    """Lower-case, accents removed, whitespace collapsed: how filter values are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


@dataclass(frozen=True)
class SearchFields:
    weight_a: str  # stems, space-separated (PostgreSQL indexes them as they are)
    weight_b: str
    weight_c: str
    weight_d: str
    words: list[str]  # the vocabulary typo correction draws on: single words, folded
    term_ids: list[UUID]
    languages: list[str]
    service_areas: list[str]

    def stems(self) -> dict[str, set[str]]:
        """The stems of each weight (what `matching.rank` takes)."""
        return {
            weight: set(text.split())
            for weight, text in zip(
                matching.WEIGHTS,
                (self.weight_a, self.weight_b, self.weight_c, self.weight_d),
                strict=True,
            )
        }


def audience_words(minimum: float | None, maximum: float | None) -> str:
    if minimum is None and maximum is None:
        return ""  # all ages: no band is singled out
    low, high = minimum or 0, 130 if maximum is None else maximum
    return " ".join(words for start, end, words in AGE_BANDS if low <= end and high >= start)


def language_values(languages: Iterable[hsds.Language]) -> list[str]:
    """Codes and names, folded: what the `language` filter matches."""
    values: set[str] = set()
    for language in languages:
        if language.code:
            code = fold(language.code)
            values.add(code)
            values.update(fold(name) for name in LANGUAGE_NAMES.get(code, ()))
        if language.name:
            values.add(fold(language.name))
    return sorted(values)


def search_texts(service: hsds.Service, term_names: Mapping[UUID, list[str]]) -> dict[str, str]:
    """The text of each weight. `term_names` maps a term id to its names and its ancestors'
    names, in every language (so "food" and "comida" find a pantry)."""
    term_ids = sorted({a.taxonomy_term_id for a in service.attributes if a.taxonomy_term_id})
    needs = " ".join(name for term in term_ids for name in term_names.get(term, ()))
    places = [
        address.city
        for sal in service.service_at_locations
        if sal.location
        for address in sal.location.addresses
        if address.city
    ]
    areas = [area.name for area in service.service_areas if area.name]
    return {
        "A": " ".join(filter(None, [service.name, service.alternate_name])),
        "B": service.organization.name,
        "B needs": needs,
        "C": " ".join(filter(None, [service.description, service.eligibility_description])),
        "D": " ".join(
            [
                *language_values(service.languages),
                audience_words(service.minimum_age, service.maximum_age),
                *areas,
                *places,
            ]
        ),
    }


def search_fields(service: hsds.Service, term_names: Mapping[UUID, list[str]]) -> SearchFields:
    texts = search_texts(service, term_names)
    stop = LEXICON.stop_words

    def stems(*parts: list[str]) -> str:
        return " ".join(dict.fromkeys(s for part in parts for s in part))

    areas = sorted({fold(area.name) for area in service.service_areas if area.name})
    return SearchFields(
        weight_a=stems(matching.field_stems(texts["A"], stop, compounds=True)),
        weight_b=stems(
            matching.field_stems(texts["B"], stop, compounds=True),
            matching.field_stems(texts["B needs"], stop),
        ),
        weight_c=stems(matching.field_stems(texts["C"], stop)),
        weight_d=stems(matching.field_stems(texts["D"], stop)),
        words=sorted(matching.vocabulary_words(texts.values(), stop)),
        term_ids=sorted({a.taxonomy_term_id for a in service.attributes if a.taxonomy_term_id}),
        languages=language_values(service.languages),
        service_areas=areas,
    )


# -- opening hours -------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """Open on ISO weekday `isodow` from `opens` to `closes` (next day when `overnight`)."""

    isodow: int
    opens: time
    closes: time
    overnight: bool
    timezone: str | None  # IANA zone; else the fixed UTC offset below
    utc_offset_min: int
    valid_from: date | None = None
    valid_to: date | None = None


def _clock(value: str) -> tuple[time, int | None]:
    """A clock time and the UTC offset (minutes) it carries, if any ("09:00-05:00")."""
    match = hsds.CLOCK.match(value)
    assert match is not None  # hsds.Schedule validated it
    hour, minute, second, zone = match.groups()
    clock = time(int(hour), int(minute), int(second or 0))
    if zone is None:
        return clock, None
    if zone == "Z":
        return clock, 0
    sign = -1 if zone[0] == "-" else 1
    return clock, sign * (int(zone[1:3]) * 60 + int(zone[4:6]))


def _zone_of(service: hsds.Service, location_id: UUID | None) -> str | None:
    locations = [sal.location for sal in service.service_at_locations if sal.location]
    chosen = [loc for loc in locations if loc.id == location_id] or locations
    return next((loc.x_bridges.timezone for loc in chosen if loc.x_bridges.timezone), None)


def _slots_of(schedule: hsds.Schedule, zone: str | None) -> list[Slot]:
    if schedule.opens_at is None or schedule.closes_at is None:
        return []
    if schedule.freq not in (None, "WEEKLY", "DAILY"):
        return []  # monthly/yearly patterns are shown, not used for "open now"
    days = (  # "2TU" (the second Tuesday) is a monthly occurrence, not a weekly day
        [ISO_WEEKDAY[d] for d in schedule.byday.split(",") if d in ISO_WEEKDAY]
        if schedule.byday and schedule.freq != "DAILY"
        else list(range(1, 8))
    )
    (opens, opens_offset), (closes, _) = _clock(schedule.opens_at), _clock(schedule.closes_at)
    if closes.hour == 23 and closes.minute == 59:
        closes = END_OF_DAY  # "until 23:59" means until midnight
    overnight = closes <= opens
    # the schedule's own UTC offset, else the one its times carry (HSDS 3.0), else UTC
    offset = round(schedule.timezone * 60) if schedule.timezone is not None else opens_offset or 0
    return [
        Slot(day, opens, closes, overnight, zone, offset, schedule.valid_from, schedule.valid_to)
        for day in days
    ]


def opening_slots(service: hsds.Service) -> list[Slot]:
    """Weekly slots from the service's schedules and its locations' schedules, none of them
    valid on a day the service is closed (`closures`)."""
    slots = [
        slot
        for schedule in service.schedules
        for slot in _slots_of(schedule, _zone_of(service, schedule.location_id))
    ]
    for sal in service.service_at_locations:
        zone = sal.location.x_bridges.timezone if sal.location else None
        slots.extend(slot for schedule in sal.schedules for slot in _slots_of(schedule, zone))
    closed = closures(service)
    opened = {part for slot in slots for part in _outside(slot, closed)}
    return sorted(opened, key=lambda s: (s.isodow, s.opens, s.closes, s.valid_from or date.min))


def closures(service: hsds.Service) -> list[tuple[date, date]]:
    """The days the service is closed (first, last), merged, in order: its closures and its
    locations' (a service's hours are the same at its locations in Bridges' reading)."""
    schedules = [
        *service.schedules,
        *(schedule for sal in service.service_at_locations for schedule in sal.schedules),
    ]
    spans = sorted(
        (s.valid_from, s.valid_to)
        for s in schedules
        if s.is_closure and s.valid_from is not None and s.valid_to is not None
    )
    merged: list[tuple[date, date]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _outside(slot: Slot, closed: list[tuple[date, date]]) -> list[Slot]:
    """`slot` with its validity split around the closed days (the HSDS way of saying that
    regular hours stop for a while), as the index keeps it."""
    parts = [slot]
    for first, last in closed:
        kept = []
        for part in parts:
            starts, ends = part.valid_from or date.min, part.valid_to or date.max
            if last < starts or first > ends:
                kept.append(part)
                continue
            if first > starts:
                kept.append(replace(part, valid_to=first - timedelta(days=1)))
            if last < ends:
                kept.append(replace(part, valid_from=last + timedelta(days=1)))
        parts = kept
    return parts


def local_time(slot: Slot, at: datetime) -> datetime:
    """`at` as a wall-clock time where the slot is kept (naive)."""
    if slot.timezone:
        return at.astimezone(ZoneInfo(slot.timezone)).replace(tzinfo=None)
    return (at.astimezone(UTC) + timedelta(minutes=slot.utc_offset_min)).replace(tzinfo=None)


def slot_is_open(slot: Slot, at: datetime) -> bool:
    local = local_time(slot, at)
    if slot.valid_from and local.date() < slot.valid_from:
        return False
    if slot.valid_to and local.date() > slot.valid_to:
        return False
    now, today = local.time(), local.isoweekday()
    if slot.isodow == today and now >= slot.opens and (slot.overnight or now < slot.closes):
        return True
    yesterday = (today - 2) % 7 + 1
    return slot.overnight and slot.isodow == yesterday and now < slot.closes


def is_open(slots: Iterable[Slot], at: datetime) -> bool:
    return any(slot_is_open(slot, at) for slot in slots)


MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


@dataclass(frozen=True)
class WeeklyHours:
    """Open ranges in minutes of the local week (Monday 00:00 = 0), kept in one zone."""

    timezone: str  # IANA zone, or "" for the fixed offset
    utc_offset_min: int
    ranges: tuple[tuple[int, int], ...]
    valid_from: date | None
    valid_to: date | None

    def multirange(self) -> str:
        return "{" + ",".join(f"[{start},{end})" for start, end in self.ranges) + "}"


def _minute(day: int, clock: time) -> int:
    end_of_day = clock == END_OF_DAY
    return (day - 1) * MINUTES_PER_DAY + (
        MINUTES_PER_DAY if end_of_day else clock.hour * 60 + clock.minute
    )


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def weekly_hours(slots: Iterable[Slot]) -> list[WeeklyHours]:
    """The slots as week-minute ranges per zone and validity (overnight ones wrap past Sunday)."""
    groups: dict[tuple[str, int, date | None, date | None], list[tuple[int, int]]] = {}
    for slot in slots:
        key = (slot.timezone or "", slot.utc_offset_min, slot.valid_from, slot.valid_to)
        start = _minute(slot.isodow, slot.opens)
        end = _minute(slot.isodow + 1 if slot.overnight else slot.isodow, slot.closes)
        spans = (
            [(start, end)]
            if end <= MINUTES_PER_WEEK
            else [(start, MINUTES_PER_WEEK), (0, end - MINUTES_PER_WEEK)]
        )
        groups.setdefault(key, []).extend((a, b) for a, b in spans if a < b)
    return [
        WeeklyHours(zone, offset, _merge(ranges), valid_from, valid_to)
        for (zone, offset, valid_from, valid_to), ranges in groups.items()
        if ranges
    ]


# The grid `search_cell` (migration 080) puts each site's point in: cubes of CELL_METERS on
# earthdistance's x, y and z axes (metres from the earth's centre; its radius is EARTH_METERS).
EARTH_METERS = 6378168.0
CELL_METERS = 10_000
_CELL_OFFSET, _CELL_SPAN = 1024, 2048


def search_cells(lat: float, lon: float, radius_m: float) -> list[int]:
    """Every cell a site within `radius_m` of (lat, lon) may be in, as `search_cell` numbers
    them: the cells of the box around the point that both meet the earth's surface (a sphere:
    every point is on it) and come within the radius of the point (a straight line is never
    longer than the way around the earth); a metre more each time, since PostgreSQL's rounding
    may differ from Python's. (The box's 216 cells at 25 km are about 60.)"""
    reach = radius_m + 1.0
    centre = _earth_xyz(lat, lon)
    x, y, z = (
        range(math.floor((c - reach) / CELL_METERS), math.floor((c + reach) / CELL_METERS) + 1)
        for c in centre
    )
    return [
        ((i + _CELL_OFFSET) * _CELL_SPAN + j + _CELL_OFFSET) * _CELL_SPAN + k + _CELL_OFFSET
        for i in x
        for j in y
        for k in z
        if _meets((i, j, k), centre, reach)
    ]


def _earth_xyz(lat: float, lon: float) -> tuple[float, float, float]:
    """`ll_to_earth`: metres from the earth's centre."""
    phi, lam = math.radians(lat), math.radians(lon)
    return (
        EARTH_METERS * math.cos(phi) * math.cos(lam),
        EARTH_METERS * math.cos(phi) * math.sin(lam),
        EARTH_METERS * math.sin(phi),
    )


def _meets(cell: tuple[int, int, int], centre: tuple[float, float, float], reach: float) -> bool:
    """Whether the cube `cell` meets the earth's surface within `reach` of `centre`."""
    sides = [(n * CELL_METERS, (n + 1) * CELL_METERS) for n in cell]
    nearest = math.dist((0, 0, 0), [min(max(0.0, lo), hi) for lo, hi in sides])
    farthest = math.dist((0, 0, 0), [max(abs(lo), abs(hi)) for lo, hi in sides])
    from_centre = math.dist(
        centre, [min(max(c, lo), hi) for c, (lo, hi) in zip(centre, sides, strict=True)]
    )
    return nearest <= EARTH_METERS + 1 and farthest >= EARTH_METERS - 1 and from_centre <= reach
