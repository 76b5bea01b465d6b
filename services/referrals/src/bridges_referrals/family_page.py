"""The family's page, where its link leads: "Did you get help?", the four answers and a comment,
in its language. No sign-in (the link's token is the key), any phone browser (a plain form; a
small script only improves it), nothing from another site, nothing of the referral shown, and a
quick exit. It is a page, not an API: left out of the OpenAPI document, like the app's shell.

Abuse: requests are limited per link token and per address (429 with a polite page); a token
is 144 random bits, so guessing one is hopeless; a link answers once, then says so politely."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from bridges_kit.http import router, unit_of_work
from bridges_kit.problems import NotFound
from bridges_kit.rate_limits import RateLimited, RateLimiter
from bridges_kit.text import unstorable
from bridges_kit.throttling import limits_of
from bridges_referrals import family, family_text
from bridges_referrals.follow_up import LANGUAGES, FeedbackAlreadyGiven, FollowUpLinkNotValid
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import FamilyAnswer

UoW = Annotated[ReferralsUnitOfWork, Depends(unit_of_work)]

PREFIX = "/family"
ASSETS = f"{PREFIX}/assets"
_FILES = Path(__file__).parent / "templates" / "family"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_FORM_BYTES = 8 * 1024
MAX_COMMENT = 1000
_ASSET_TYPES = {"page.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8"}
# Only this origin's script and styles; nothing may frame the page, and a form posts only here.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",  # a shared phone's browser keeps no copy of the page
    "X-Robots-Tag": "noindex, nofollow",
}


@dataclass(frozen=True)
class FamilyPage:
    """The page's settings: where its quick exit goes, and requests allowed per link token
    and per client address (None: not limited)."""

    exit_url: str
    per_token: RateLimiter | None = None
    per_address: RateLimiter | None = None

    def render(self, language: str, content: str, status: int = 200, **headers: str) -> Response:
        def say(key: str) -> str:
            return html.escape(family_text.text(language, key))

        others = "".join(
            f'<a href="?lang={code}" lang="{code}" hreflang="{code}">'
            f"{html.escape(family_text.text(code, 'page.in_language'))}</a>"
            for code in LANGUAGES
            if code != language
        )
        page = _template("page.html").substitute(
            lang=language,
            title=say("page.title"),
            assets="assets",  # relative: the page is at <base>/family/<token>
            exit_url=html.escape(self.exit_url),
            exit=say("page.exit"),
            content=content,
            private=say("page.private"),
            language_label=say("page.language"),
            languages=others,
        )
        return HTMLResponse(page, status_code=status, headers={**_HEADERS, **headers})

    def refused(self, request: Request, token: str) -> Response | None:
        """The polite 429 page when this address or this token asked too often."""
        try:
            if self.per_address is not None:
                self.per_address.check(limits_of(request).addresses.of(request.scope))
            if self.per_token is not None:
                self.per_token.check(token)
        except RateLimited as refused:
            language = _language(request, "")
            wait = str(refused.extensions.get("retry_after_s", 60))
            content = _message(language, "page.too_many")
            return self.render(language, content, 429, **{"Retry-After": wait})
        return None

    def screened(self, request: Request, token: str) -> Response | None:
        """The page to answer at once: too many requests, or not a token this page makes."""
        refused = self.refused(request, token)
        if refused is None and not _TOKEN.fullmatch(token):
            return self.invalid(request)
        return refused

    def invalid(self, request: Request, language: str = "") -> Response:
        language = _language(request, language)
        return self.render(language, _message(language, "page.invalid"), 404)


@cache
def _template(name: str) -> Template:
    return Template((_FILES / name).read_text(encoding="utf-8"))


def _language(request: Request, preferred: str) -> str:
    """`?lang=`, else the family's (or the form's), else the browser's, else English."""
    chosen = request.query_params.get("lang", "")
    if chosen in LANGUAGES:
        return chosen
    if preferred in LANGUAGES:
        return preferred
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def _message(language: str, *keys: str) -> str:
    return "".join(f"<p>{html.escape(family_text.text(language, k))}</p>" for k in keys)


def _form(language: str, problem: str = "") -> str:
    def say(key: str) -> str:
        return html.escape(family_text.text(language, key))

    answers = "".join(
        _template("answer.html").substitute(value=answer.value, label=say(f"answer.{answer}"))
        for answer in FamilyAnswer
    )
    return _template("form.html").substitute(
        intro=say("page.intro"),
        choose=say("page.choose"),
        error=say("page.error"),
        problem=html.escape(problem),
        answers=answers,
        comment=say("page.comment"),
        comment_hint=say("page.comment_hint"),
        lang=language,
        send=say("page.send"),
    )


async def _form_fields(request: Request) -> dict[str, str] | None:
    """The posted fields, or None when the body is not a form this page sends."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=5)
    except (UnicodeDecodeError, ValueError):
        return None
    found = {name: values[0] for name, values in fields.items() if len(values) == 1}
    if any(unstorable(value) for value in found.values()):
        return None
    return found


def routes(page: FamilyPage) -> APIRouter:
    """GET and POST /family/{token}, and the page's two small files."""
    family_page = router(include_in_schema=False, tags=["family"])

    @family_page.get(ASSETS + "/{name}")
    def asset(name: str) -> Response:
        media_type = _ASSET_TYPES.get(name)
        if media_type is None:
            raise NotFound("no such file")
        return Response(
            (_FILES / name).read_bytes(),
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @family_page.get(PREFIX + "/{token}")
    async def question(request: Request, token: str, uow: UoW) -> Response:
        screened = page.screened(request, token)
        if screened is not None:
            return screened
        state = await family.open_link(uow, token)
        language = _language(request, state.language)
        if state.answered:
            return page.render(language, _message(language, "page.already"), 409)
        if not state.open:
            return page.invalid(request, state.language)
        return page.render(language, _form(language))

    @family_page.post(PREFIX + "/{token}")
    async def answer(request: Request, token: str, uow: UoW) -> Response:
        screened = page.screened(request, token)
        if screened is not None:
            return screened
        fields = await _form_fields(request) or {}
        chosen = fields.get("answer", "")
        if chosen not in {a.value for a in FamilyAnswer}:
            language = _language(request, fields.get("lang", ""))
            problem = family_text.text(language, "page.choose")
            return page.render(language, _form(language, problem), 400)
        comment = fields.get("comment", "").strip()[:MAX_COMMENT] or None
        try:
            state = await family.answer_by_link(uow, token, FamilyAnswer(chosen), comment)
        except (FeedbackAlreadyGiven, FollowUpLinkNotValid):
            state = await family.open_link(uow, token)  # its language, for a polite answer
            if not state.answered:
                return page.invalid(request, fields.get("lang") or state.language)
            language = _language(request, fields.get("lang") or state.language)
            return page.render(language, _message(language, "page.already"), 409)
        language = _language(request, fields.get("lang") or state.language)
        return page.render(language, _message(language, "page.thanks", "page.close"))

    return family_page
