"""The pure rules behind triage at a glance: references (drawn, read back however typed), the
family's label and the words its name is found by, list cursors over several keys, and what a
list row may show to whom."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridges_kit.principal import Principal
from bridges_referrals import family_names, listings, references, sharing, views
from bridges_referrals.domain import Case, Consent, ConsentScope, Referral
from bridges_schema import REFERENCE_PATTERN, ReferralStatus, Role, Urgency

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

# -- references ------------------------------------------------------------------------------


def test_a_drawn_reference_has_the_form_and_uses_no_look_alikes():
    drawn = {references.new_reference() for _ in range(500)}
    assert all(re.fullmatch(REFERENCE_PATTERN, ref) for ref in drawn)
    # drawn at random from 30**5 (24.3 million): 500 draws repeat one by chance about once in
    # 200 runs, so a few repeats are chance, many would be a weak draw
    assert len(drawn) >= 497
    assert not set("01ILOU") & {c for ref in drawn for c in ref[3:]}


@given(
    st.sampled_from(references.ALPHABET),
    st.text(alphabet=references.ALPHABET, min_size=4, max_size=4),
)
def test_a_reference_reads_back_however_it_is_typed(first, rest):
    ref = f"BR-{first}{rest}"
    for typed in (ref, ref.lower(), ref[3:], f" br {ref[3:]} ", f"BR{ref[3:]}", f"br - {ref[3:]}"):
        assert references.canonical(typed) == ref


@pytest.mark.parametrize(
    "typed", ["", "BR-", "BR-7K3F", "BR-7K3F90", "7K3FO", "hello world", "BR-7K3FI"]
)
def test_what_cannot_be_a_reference_is_none(typed):
    assert references.canonical(typed) is None


def test_a_reference_that_itself_starts_with_br_is_not_cut():
    assert references.canonical("BRXYZ") == "BR-BRXYZ"
    assert references.canonical("BR-BRXYZ") == "BR-BRXYZ"


# -- names -----------------------------------------------------------------------------------


def test_the_label_is_the_given_name_and_the_family_initial():
    assert family_names.label({"given_name": "Amara", "family_name": "diallo"}) == "Amara D."
    assert family_names.label({"given_name": "Ñuño", "family_name": ""}) == "Ñuño"
    assert family_names.label(None) is None


def test_a_name_is_found_by_its_words_folded_and_run_together():
    words = family_names.indexed_words({"given_name": "José María", "family_name": "O'Brien-Núñez"})
    assert words == {"jose", "maria", "josemaria", "o", "brien", "nunez", "obriennunez"}
    assert set(family_names.query_words("JOSÉ  núñez")) <= words


def test_a_search_keeps_a_bounded_number_of_words():
    assert len(family_names.query_words("a b c d e f g h")) == family_names.MAX_QUERY_WORDS


# -- cursors ---------------------------------------------------------------------------------


def _referral(**changes) -> Referral:
    base = Referral(
        id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        program_id=uuid.uuid4(),
        agency_id=uuid.uuid4(),
        officer_id="badge-1",
        status=ReferralStatus.REQUESTED,
        urgency=Urgency.HIGH,
        version=1,
        respond_by=NOW + timedelta(hours=3),
        created_at=NOW,
        updated_at=NOW,
        reference="BR-7K3F9",
    )
    return replace(base, **changes)


@pytest.mark.parametrize("order", list(listings.ListingOrder))
def test_a_cursor_holds_its_orders_keys_and_reads_back(order):
    referral = _referral(urgency=Urgency.EMERGENCY)
    values, after = listings.decode_cursor(order, listings.encode_cursor(order, referral))
    assert after == referral.id
    assert values == listings.order_values(order, referral)


def test_a_cursor_of_another_order_is_refused():
    cursor = listings.encode_cursor(listings.ListingOrder.URGENCY, _referral())
    with pytest.raises(listings.BadCursor):
        listings.decode_cursor(listings.ListingOrder.DUE, cursor)


# -- what a row shows to whom ----------------------------------------------------------------

CLIENT = {
    "given_name": "Amara",
    "family_name": "Diallo",
    "contact": {"phone": "+1 503 555 0142", "preferred_language": "fr", "interpreter_needed": True},
    "household": [{"given_name": "Tomas", "relationship": "child"}],
}


def _case(scopes: set[ConsentScope], withdrawn: bool = False) -> Case:
    return Case(
        id=uuid.uuid4(),
        officer_id="badge-1",
        need_codes=("food.pantry",),
        urgency=Urgency.HIGH,
        created_at=NOW,
        consent=Consent(
            given_by="client",
            method="verbal",
            given_at=NOW,
            scopes=frozenset(scopes),
            recorded_by="badge-1",
            withdrawn_at=NOW if withdrawn else None,
        ),
        client=CLIENT,
        situation="hard times",
        officer_contact={"name": "Dana Reyes"},
    )


def _row(viewer: Principal, referral: Referral, case: Case) -> dict:
    shared = sharing.shared_with(viewer, referral, case)
    return views.listed(referral, case, shared, NOW).model_dump()


@pytest.mark.parametrize(
    ("scopes", "withdrawn", "label", "needs"),
    [
        ({ConsentScope.CONTACT}, False, "Amara D.", []),
        ({ConsentScope.CONTACT, ConsentScope.NEEDS}, False, "Amara D.", ["food.pantry"]),
        ({ConsentScope.NEEDS}, False, None, ["food.pantry"]),
        (set(ConsentScope), True, None, []),
    ],
)
def test_the_agency_sees_at_a_glance_only_what_the_family_shared(scopes, withdrawn, label, needs):
    referral = _referral()
    staff = Principal("staff-1", Role.AGENCY_STAFF, agency_id=referral.agency_id)
    case = _case(scopes, withdrawn)
    row = _row(staff, referral, case)
    assert row["family_label"] == label and row["needs"] == needs
    assert row["language"] == ("fr" if label else None)
    assert row["interpreter_needed"] is (True if label else None)
    assert row["officer_name"] == "Dana Reyes"
    assert row["client"] is None and row["situation"] is None
    assert sharing.shows_client(staff, referral, case) is (label is not None)


def test_the_filing_officer_sees_their_family_and_another_officer_nothing():
    referral, case = _referral(), _case({ConsentScope.CONTACT})
    mine = _row(Principal("badge-1", Role.OFFICER), referral, case)
    theirs = Principal("badge-2", Role.OFFICER)
    assert mine["family_label"] == "Amara D." and mine["needs"] == ["food.pantry"]
    assert sharing.shows_client(theirs, referral, case) is False
    assert _row(theirs, referral, case)["family_label"] is None
