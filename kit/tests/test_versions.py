"""Entity tags (RFC 9110 §8.8.3) parsed in one place: If-Match compares strongly, If-None-Match
weakly, FHIR's update takes the weak tag it served."""

import pytest

from bridges_kit.conditional import none_match
from bridges_kit.versions import EntityTag, VersionCondition, entity_tags


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ('"3"', (EntityTag("3"),)),
        ('W/"3"', (EntityTag("3", weak=True),)),
        (' "a,b" , W/"c" ', (EntityTag("a,b"), EntityTag("c", weak=True))),  # a comma inside
        ('""', (EntityTag(""),)),
        ("*", None),
        ("3", ()),
        ('"3" "4"', ()),
        ('w/"3"', ()),  # W/ is case-sensitive
        ('"3",,', ()),
    ],
)
def test_a_header_lists_its_entity_tags_or_none_at_all(header, tags):
    assert entity_tags(header) == tags


def test_if_match_compares_strongly_and_fhir_takes_its_weak_tag():
    assert VersionCondition.parse('"7"').matches(7)
    assert not VersionCondition.parse('W/"7"').matches(7)
    assert VersionCondition.parse_fhir('W/"7"').matches(7)
    assert not VersionCondition.parse_fhir('W/"6"').matches(7)
    assert VersionCondition.parse("*").matches(123)


def test_if_none_match_compares_weakly():
    etag = '"abc"'
    assert none_match('W/"abc"', etag) and none_match('"x", "abc"', etag)
    assert none_match("*", etag)
    assert not none_match('"abd"', etag) and not none_match(None, etag)
    assert not none_match("abc", etag)  # not an entity-tag
