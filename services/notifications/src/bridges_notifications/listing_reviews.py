"""The directory's "please confirm your listing" request becomes an email to each of the
agency's recipients (queued like any delivery: retries, dead letters, replay), in the
recipient's language, with a one-tap "still correct" link signed for that request.

The link is made here, when the email is written (`LinkSigner` with the key this service
shares with the directory, `BRIDGES_LISTING_LINK_KEY`): the event and the stored delivery
carry the request's id only, never a credential. The directory checks the signature, and that
the request is not used nor expired. Without a key the email asks staff to sign in instead.
"""

from __future__ import annotations

import html
import uuid
from typing import Any

from bridges_kit.signed_links import LinkSigner
from bridges_notifications.domain import AudienceKind, Channel, NewDelivery, Recipient
from bridges_notifications.messages import LANGUAGES, Notice
from bridges_notifications.uow import NotificationsUnitOfWork
from bridges_schema import CloudEvent, ListingReviewRequested

PURPOSE = "listing-review"  # as the directory verifies it (bridges_directory.reviews.PURPOSE)

_TEXT = {
    "en": {
        "subject": "Please confirm your listing in Bridges",
        "programs": "Officers find {programs} of your agency's programs in Bridges and refer "
        "families to them. Are their hours, closures, phone, address, languages, eligibility, "
        "what to bring and intake still correct?",
        "stale": "{stale} of them were not checked in the last 6 months: officers see them "
        'marked "may be out of date".',
        "confirm": "Still correct? One tap confirms them all: {link}",
        "once": "(The link works once, until {expires}.)",
        "change": "Something changed? Sign in to Bridges and open Our programs: {programs_link}",
        "footer": "You receive this as your agency's contact for Bridges. Please do not reply.",
    },
    "es": {
        "subject": "Confirme la información de su agencia en Bridges",
        "programs": "Los oficiales encuentran {programs} programas de su agencia en Bridges y "
        "les derivan familias. ¿Siguen siendo correctos sus horarios, cierres, teléfono, "
        "dirección, idiomas, requisitos, qué traer y si aceptan derivaciones?",
        "stale": "{stale} de ellos no se revisaron en los últimos 6 meses: los oficiales los "
        'ven marcados como "puede estar desactualizado".',
        "confirm": "¿Sigue siendo correcto? Un toque los confirma todos: {link}",
        "once": "(El enlace funciona una vez, hasta el {expires}.)",
        "change": "¿Algo cambió? Inicie sesión en Bridges y abra Nuestros programas: "
        "{programs_link}",
        "footer": "Recibe este correo como contacto de su agencia en Bridges. No responda.",
    },
}


def plan(
    event: CloudEvent[ListingReviewRequested], recipients: list[Recipient]
) -> list[NewDelivery]:
    """One email per enabled recipient of the agency (webhooks carry referral events only)."""
    data = event.data
    payload = event.model_dump_json().encode()
    return [
        NewDelivery(
            id=uuid.uuid4(),
            event_id=event.id,
            event_type=event.type,
            referral_id=None,
            agency_id=data.agency_id,
            channel=Channel.EMAIL,
            target=r.address,
            audience=AudienceKind.AGENCY,
            payload=payload,
            language=r.language,
        )
        for r in recipients
        if r.agency_id == data.agency_id and r.enabled
    ]


async def on_listing_review_requested(
    event: CloudEvent[ListingReviewRequested], uow: NotificationsUnitOfWork
) -> None:
    audience = await uow.audiences.of_agency(event.data.agency_id, recipients=True)
    await uow.deliveries.add(plan(event, audience.recipients))


def compose(
    event: CloudEvent[Any], language: str, app_url: str, signer: LinkSigner | None
) -> Notice:
    """The request as an email in `language` (English when not supported)."""
    data: ListingReviewRequested = event.data
    words = _TEXT[language if language in LANGUAGES else "en"]
    base = app_url.rstrip("/")
    programs_link = f"{base}/#/programs"
    link = f"{base}/#/confirm/{signer.sign(data.review_id)}" if signer is not None else None
    values = {
        "programs": data.programs,
        "stale": data.stale_programs,
        "link": link,
        "expires": data.expires_at.date().isoformat(),
        "programs_link": programs_link,
    }
    paragraphs = [words["programs"].format(**values)]
    if data.stale_programs:
        paragraphs.append(words["stale"].format(**values))
    if link is not None:
        paragraphs.append(f"{words['confirm'].format(**values)}\n{words['once'].format(**values)}")
    paragraphs.append(words["change"].format(**values))
    text = "\n\n".join([*paragraphs, words["footer"]]) + "\n"
    lang = language if language in LANGUAGES else "en"
    body = "".join(f"<p>{_linked(p, [link, programs_link])}</p>" for p in paragraphs)
    footer = f"<p><small>{html.escape(words['footer'])}</small></p>"
    return Notice(words["subject"], text, f'<html lang="{lang}"><body>{body}{footer}</body></html>')


def _linked(paragraph: str, links: list[str | None]) -> str:
    """A paragraph as HTML, its links clickable."""
    escaped = html.escape(paragraph).replace("\n", "<br>")
    for link in filter(None, links):
        safe = html.escape(link)
        escaped = escaped.replace(safe, f'<a href="{safe}">{safe}</a>')
    return escaped
