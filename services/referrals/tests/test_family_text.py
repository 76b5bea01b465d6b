"""The family's words are the app's: the copy the service reads is the app catalogue's `family.*`
keys (`make docs` copies them), in every language with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from bridges_referrals import family_text
from bridges_referrals.follow_up import LANGUAGES
from bridges_schema import FamilyAnswer, MessageChannel

LOCALES = Path(__file__).resolve().parents[3] / "app" / "src" / "locales"


def test_the_services_copy_is_the_apps_catalogue():
    assert family_text.from_app(LOCALES) == family_text.catalogue(), (
        "the family's words changed in the app: run `make docs` and commit "
        "services/referrals/src/bridges_referrals/family_catalogue.json"
    )


def test_every_language_has_every_key_with_the_same_placeholders():
    words = family_text.catalogue()
    assert set(LANGUAGES) <= set(words)
    english = words["en"]
    for language in LANGUAGES:
        assert words[language].keys() == english.keys(), language
        for key, text in words[language].items():
            assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", english[key]))
    for answer in FamilyAnswer:  # the page and the officer's screens name every answer
        assert f"family.answer.{answer}" in english


def test_a_message_is_neutral_and_carries_its_link():
    link = "https://bridges.example.org/family/AbCdEfGhIjKlMnOpQrStUvWx"
    for language in LANGUAGES:
        email = family_text.message(language, MessageChannel.EMAIL, link, days=30)
        text = family_text.message(language, MessageChannel.SMS, link, days=30)
        assert link in email.text and f'href="{link}"' in (email.html or "")
        assert text.text.endswith(link) and text.html is None and len(text.text) <= 160
        assert f'lang="{language}"' in (email.html or "") and "30" in email.text
    assert family_text.text("fr", "page.title") == "Did you get help?"  # English otherwise
