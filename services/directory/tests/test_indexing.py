"""The pure derivations behind search: folding, compounds, audiences and opening slots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time

from hypothesis import given
from hypothesis import strategies as st

from bridges_directory import indexing, lexicon, matching
from bridges_directory.hsds import Schedule


def test_fold_removes_accents_and_case():
    assert indexing.fold("  Clínica  del VALLE ") == "clinica del valle"
    assert indexing.fold("Tiếng Việt") == "tieng viet"


def test_names_hold_their_stems_and_adjacent_words_run_together():
    stems = matching.field_stems("Riverton Food Banks", lexicon.LEXICON.stop_words, compounds=True)
    assert stems == ["riverton", "food", "bank", "rivertonfood", "foodbank"]
    assert matching.field_stems("Help for the Families", lexicon.LEXICON.stop_words) == [
        "help",
        "famili",
    ]


def test_audience_words_follow_age_bands():
    assert "toddler" in indexing.audience_words(0, 3)
    assert "teen" not in indexing.audience_words(0, 3)
    assert "senior" in indexing.audience_words(18, None)
    assert indexing.audience_words(None, None) == ""


def _slots(**fields):
    schedule = Schedule(id=uuid.uuid4(), **fields)
    return indexing._slots_of(schedule, "America/Los_Angeles")


def test_overnight_and_all_day_slots():
    night = _slots(freq="WEEKLY", byday="FR", opens_at="22:00", closes_at="02:00")
    assert [(s.isodow, s.overnight) for s in night] == [(5, True)]
    la = "-08:00"
    assert indexing.is_open(night, datetime.fromisoformat(f"2026-11-27T23:00{la}"))
    assert indexing.is_open(night, datetime.fromisoformat(f"2026-11-28T01:59{la}"))
    assert not indexing.is_open(night, datetime.fromisoformat(f"2026-11-28T02:00{la}"))
    all_day = _slots(freq="DAILY", opens_at="00:00", closes_at="23:59")
    assert len(all_day) == 7 and all_day[0].closes == indexing.END_OF_DAY
    assert indexing.is_open(all_day, datetime.fromisoformat(f"2026-11-28T23:59:30{la}"))


def test_fixed_offset_is_used_without_a_zone():
    schedule = Schedule(
        id=uuid.uuid4(), byday="MO", opens_at="09:00", closes_at="10:00", timezone=9
    )
    slots = indexing._slots_of(schedule, None)
    assert indexing.is_open(slots, datetime(2026, 11, 30, 0, 30, tzinfo=UTC))  # 09:30 at +9
    assert not indexing.is_open(slots, datetime(2026, 11, 30, 9, 30, tzinfo=UTC))


def test_times_may_carry_their_utc_offset_as_hsds_recommends():
    est = Schedule(id=uuid.uuid4(), byday="MO,2TU", opens_at="09:00-05:00", closes_at="17:00-05:00")
    slots = indexing._slots_of(est, None)
    assert [(s.isodow, s.utc_offset_min) for s in slots] == [(1, -300)]  # 2TU: not weekly
    assert indexing.is_open(slots, datetime(2026, 11, 30, 14, 30, tzinfo=UTC))  # 09:30 EST
    assert not indexing.is_open(slots, datetime(2026, 11, 30, 9, 30, tzinfo=UTC))
    utc = Schedule(id=uuid.uuid4(), byday="MO", opens_at="09:00Z", closes_at="10:00Z", timezone=1)
    assert indexing._slots_of(utc, None)[0].utc_offset_min == 60  # the schedule's offset wins


@given(opens=st.times(), closes=st.times(), at=st.datetimes(timezones=st.just(UTC)))
def test_a_slot_is_open_exactly_inside_its_hours(opens: time, closes: time, at: datetime):
    slot = indexing.Slot(at.isoweekday(), opens, closes, closes <= opens, None, 0)
    now = at.time()
    inside = now >= opens and (closes <= opens or now < closes)
    assert indexing.slot_is_open(slot, at) is inside
