"""Web addresses, email addresses and phone numbers as the directory accepts them (pure).

The directory's data is shown in the officers' app and exported to every HSDS consumer, which
may put a `url` in a link and a `number` in a `tel:` link without looking: a `javascript:` or
`data:` address, an "email" that is markup, or a phone number carrying a tag would run in
someone else's page. So every write path (a service or organization written, a JSON import, a
tabular package) refuses them through the HSDS models (`hsds`), naming the value's path.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field

WEB_SCHEMES = frozenset({"http", "https"})
# Digits and what numbers are written with: "+1 (503) 555-0100 ext. 2", "1-800-FLOWERS", "211"
_PHONE = re.compile(r"^[0-9A-Za-z +().,/#*-]+$")
_MIN_DIGITS = 3
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def web_address(value: str) -> str:
    """An absolute http(s) address with a host, as given ("" is no address: HSDS feeds and
    spreadsheets leave optional fields empty)."""
    if not value:
        return value
    if _CONTROL_OR_SPACE.search(value):
        raise ValueError("a web address holds no spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise ValueError("not a web address (http:// or https:// and a host)") from None
    if parts.scheme.lower() not in WEB_SCHEMES:
        raise ValueError(
            f"only http and https addresses are accepted, not {parts.scheme or 'a relative'!r} ones"
        )
    if not host:
        raise ValueError("a web address needs a host (https://example.org/...)")
    return value


def email_address(value: str) -> str:
    """A plain address (no display name, no markup), as given ("" is none); deliverability
    is not checked."""
    if not value:
        return value
    try:
        validate_email(value, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not an email address: {exc}") from None
    return value


def phone_number(value: str) -> str:
    if not _PHONE.match(value) or sum(c.isdigit() for c in value) < _MIN_DIGITS:
        raise ValueError(
            "not a phone number: digits, spaces, letters and + ( ) . , / # * - only, at least "
            f"{_MIN_DIGITS} digits"
        )
    return value


WebAddress = Annotated[str, Field(max_length=2000), AfterValidator(web_address)]
EmailAddress = Annotated[str, Field(max_length=254), AfterValidator(email_address)]
PhoneNumber = Annotated[str, Field(max_length=60), AfterValidator(phone_number)]
