"""The public reads' rule "no nulls" (Open Referral UK): what the edge serves is the answer with
every null member left out, and an answer holding no null is served exactly as written (a
search's page is not parsed and written again)."""

import json

from hypothesis import given
from hypothesis import strategies as st

from bridges_directory.open_data import OpenData, without_nulls

EDGE = OpenData(app=None, templates=["/services"])  # type: ignore[arg-type]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON, st.booleans())
def test_what_is_served_is_the_answer_without_its_null_members(value, spaced):
    body = json.dumps(value, separators=(", ", ": ") if spaced else (",", ":")).encode()
    served, media_type = EDGE.rewrite(body)
    assert media_type == b"application/json"
    assert json.loads(served) == without_nulls(value)


def test_an_answer_without_a_null_is_served_as_written():
    body = b'{"contents": [{"name": "Food bank", "phones": []}], "total_items": 1}'
    assert EDGE.rewrite(body)[0] is body


def test_nulls_go_and_a_word_holding_null_stays():
    body = b'{"name": "Annulled leases clinic", "email": null, "hours": [null, {"a": null}]}'
    served, _ = EDGE.rewrite(body)
    assert json.loads(served) == {"name": "Annulled leases clinic", "hours": [None, {}]}
