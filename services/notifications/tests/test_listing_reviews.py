"""The directory's "please confirm your listing" as emails: who gets one, what it says in English
and Spanish, and its one-tap link, signed for that request only (pure; sent over real SMTP in
tests/test_listing_freshness.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from bridges_kit.signed_links import LinkSigner
from bridges_notifications import listing_reviews
from bridges_notifications.domain import Recipient
from bridges_schema import LISTING_REVIEW_REQUESTED, ListingReviewRequested, new_event

AGENCY = uuid.uuid4()
NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
SIGNER = LinkSigner("s" * 40, listing_reviews.PURPOSE)


def _event(stale: int = 2):
    return new_event(
        LISTING_REVIEW_REQUESTED,
        ListingReviewRequested(
            review_id=uuid.uuid4(),
            agency_id=AGENCY,
            programs=3,
            stale_programs=stale,
            oldest_checked=None,
            requested_at=NOW,
            expires_at=NOW + timedelta(days=45),
        ),
        source="/bridges/directory",
        subject=str(AGENCY),
    )


def _recipient(address: str, *, agency=AGENCY, enabled=True, language="en") -> Recipient:
    return Recipient(uuid.uuid4(), agency, address, language, enabled, NOW)


def test_each_enabled_recipient_of_the_agency_gets_one_email():
    recipients = [
        _recipient("desk@riverton.example.org", language="es"),
        _recipient("old@riverton.example.org", enabled=False),
        _recipient("other@harbor.example.org", agency=uuid.uuid4()),
    ]
    [planned] = listing_reviews.plan(_event(), recipients)
    assert (planned.target, planned.language, planned.referral_id) == (
        "desk@riverton.example.org",
        "es",
        None,
    )
    assert b"token" not in planned.payload and b"confirm/" not in planned.payload


def test_the_email_has_a_signed_one_tap_link_and_says_what_is_stale():
    event = _event()
    notice = listing_reviews.compose(event, "en", "https://bridges.example.org/app/", SIGNER)
    token = notice.text.split("#/confirm/")[1].split()[0]
    assert SIGNER.verify(token) == event.data.review_id
    assert "2 of them were not checked in the last 6 months" in notice.text
    assert f'href="https://bridges.example.org/app/#/confirm/{token}"' in notice.html
    assert "https://bridges.example.org/app/#/programs" in notice.text
    spanish = listing_reviews.compose(event, "es", "https://bridges.example.org/app/", SIGNER)
    assert spanish.subject.startswith("Confirme") and "Un toque" in spanish.text


def test_without_a_key_the_email_asks_to_sign_in():
    notice = listing_reviews.compose(_event(stale=0), "fr", "http://127.0.0.1:8102/app/", None)
    assert "#/confirm/" not in notice.text and "#/programs" in notice.text
    assert "not checked" not in notice.text and notice.subject.startswith("Please confirm")
