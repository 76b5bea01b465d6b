"""The family's words, in its language: the follow-up message and its page's text. They are the
app's catalogue's (`family.*` in app/src/locales/*.json), so officers and families read the same
wording: `family_catalogue.json` beside this module is a copy of those keys, which `make docs`
writes (`python -m bridges_referrals.family_text app/src/locales`) and a test keeps equal.

Neutral on purpose: no program, no need, no name; nothing that tells whoever reads the family's
phone what the help was."""

from __future__ import annotations

import argparse
import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bridges_schema import MessageChannel

CATALOGUE = Path(__file__).with_name("family_catalogue.json")
PREFIX = "family."


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """{language: {key: text}} for the family's keys."""
    loaded: dict[str, dict[str, str]] = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return loaded


def text(language: str, key: str, **params: object) -> str:
    """The text of `key` (without its `family.` prefix) in `language`, English if missing."""
    words = catalogue()
    template = words.get(language, {}).get(PREFIX + key) or words["en"][PREFIX + key]
    for name, value in params.items():
        template = template.replace("{" + name + "}", str(value))
    return template


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str | None


def message(language: str, channel: MessageChannel, link: str, *, days: int) -> Message:
    """The follow-up message: an email (text and HTML) or a text message, with its link."""
    subject = text(language, "message.subject")
    if channel is MessageChannel.SMS:
        return Message(subject, text(language, "message.sms", link=link), None)
    body = text(language, "message.email", link=link, days=days)
    paragraphs = []
    for paragraph in body.split("\n\n"):
        if paragraph.strip() == link:
            safe = html.escape(link)
            paragraphs.append(f'<p><a href="{safe}">{safe}</a></p>')
        else:
            paragraphs.append(f"<p>{html.escape(paragraph).replace(chr(10), '<br>')}</p>")
    page = f'<html lang="{language}"><body>{"".join(paragraphs)}</body></html>'
    return Message(subject, body + "\n", page)


def from_app(locales: Path) -> dict[str, dict[str, str]]:
    """The family's keys of the app's catalogues (one JSON file per language)."""
    return {
        path.stem: {
            k: v
            for k, v in sorted(json.loads(path.read_text("utf-8")).items())
            if k.startswith(PREFIX)
        }
        for path in sorted(locales.glob("*.json"))
    }


def render(words: dict[str, dict[str, str]]) -> str:
    return json.dumps(words, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="copy the family's words from the app")
    parser.add_argument("locales", type=Path, help="app/src/locales")
    args = parser.parse_args(argv)
    CATALOGUE.write_text(render(from_app(args.locales)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
