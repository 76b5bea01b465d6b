"""Email notices in English and Spanish (plain text and HTML): what happened, a short reference
and a link. Never PII: staff and officers sign in to see the family's details."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from uuid import UUID

from bridges_schema import (
    CloudEvent,
    FamilyFeedbackReceived,
    ReferralOverdue,
    ReferralRequested,
    ReferralStatusChanged,
)

LANGUAGES = ("en", "es")

_STATUS = {
    "en": {
        "requested": "new",
        "received": "received",
        "accepted": "accepted",
        "rejected": "declined",
        "in-progress": "in progress",
        "on-hold": "on hold",
        "completed": "completed",
        "cancelled": "cancelled",
        "failed": "closed without success",
    },
    "es": {
        "requested": "nueva",
        "received": "recibida",
        "accepted": "aceptada",
        "rejected": "rechazada",
        "in-progress": "en curso",
        "on-hold": "en espera",
        "completed": "completada",
        "cancelled": "cancelada",
        "failed": "cerrada sin éxito",
    },
}
_URGENCY = {
    "en": {"emergency": "EMERGENCY", "high": "high", "routine": "routine"},
    "es": {"emergency": "EMERGENCIA", "high": "alta", "routine": "normal"},
}
# What the family's answers that alert its officer say of it.
_ANSWER = {
    "en": {"not-yet": "has not got help yet", "could-not-reach": "could not reach the program"},
    "es": {
        "not-yet": "todavía no ha recibido ayuda",
        "could-not-reach": "no pudo comunicarse con el programa",
    },
}
_TEXT = {
    "en": {
        "new_subject": "New referral {ref} (urgency {urgency})",
        "new_body": "A new referral {ref} was sent to your agency. Urgency: {urgency}.",
        "overdue_subject": "Referral {ref} is waiting for an answer",
        "overdue_body": "Referral {ref} has not been answered within its response target.",
        "status_subject": "Referral {ref} is now {status}",
        "status_body": "The referral {ref} you filed is now {status}.",
        "feedback_subject": "Referral {ref}: the family {answer}",
        "feedback_body": "Asked whether it got help, the family of referral {ref} says it "
        "{answer}. The referral is still open.",
        "link": "Open it in Bridges: {link}",
        "footer": "Sign in to Bridges to see the details. Please do not reply to this email.",
    },
    "es": {
        "new_subject": "Nueva derivación {ref} (urgencia {urgency})",
        "new_body": "Su agencia recibió una nueva derivación {ref}. Urgencia: {urgency}.",
        "overdue_subject": "La derivación {ref} espera una respuesta",
        "overdue_body": "La derivación {ref} no ha sido respondida dentro del plazo.",
        "status_subject": "La derivación {ref} está ahora {status}",
        "status_body": "La derivación {ref} que usted presentó está ahora {status}.",
        "feedback_subject": "Derivación {ref}: la familia {answer}",
        "feedback_body": "Preguntada si recibió ayuda, la familia de la derivación {ref} dice "
        "que {answer}. La derivación sigue abierta.",
        "link": "Ábrala en Bridges: {link}",
        "footer": "Inicie sesión en Bridges para ver los detalles. No responda a este correo.",
    },
}


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    html: str


def reference(referral_id: UUID, given: str | None) -> str:
    """The referral's short reference, as staff and officers see it in the app (BR-7K3F9; not
    secret: the link needs a sign-in). Events from before references existed: R- and the id's
    first 8 hex digits."""
    return given or "R-" + referral_id.hex[:8].upper()


def referral_link(app_url: str, referral_id: UUID, audience: str) -> str:
    """Where the referral opens in the app: the agency inbox, or the officer's referrals."""
    screen = "inbox" if audience == "agency" else "mine"
    return f"{app_url.rstrip('/')}/#/{screen}/{referral_id}"


def compose(
    event: CloudEvent[Any], language: str, app_url: str, audience: str = "agency"
) -> Notice:
    """The notice for a referral event, in `language` (English when not supported)."""
    lang = language if language in LANGUAGES else "en"
    words, data = _TEXT[lang], event.data
    match data:
        case FamilyFeedbackReceived():
            referral_id, given = data.open_referral_ids[0], data.open_reference
            key = "feedback"
            values = {"answer": _ANSWER[lang].get(data.answer.value, data.answer.value)}
        case ReferralRequested() | ReferralOverdue() | ReferralStatusChanged():
            referral_id, given = data.referral_id, data.reference
            key = {ReferralRequested: "new", ReferralOverdue: "overdue"}.get(type(data), "status")
            values = {
                "urgency": _URGENCY[lang][data.urgency.value],
                "status": _STATUS[lang][data.status.value],
            }
        case _:
            raise TypeError(f"no notice for {type(data).__name__}")
    link = referral_link(app_url, referral_id, audience)
    values |= {"ref": reference(referral_id, given), "link": link}
    subject = words[f"{key}_subject"].format(**values)
    lines = [
        words[f"{key}_body"].format(**values),
        words["link"].format(**values),
        "",
        words["footer"],
    ]
    safe_link = html.escape(link)
    body_html = (
        f'<html lang="{lang}"><body><p>{html.escape(lines[0])}</p>'
        f'<p><a href="{safe_link}">{safe_link}</a></p>'
        f"<p><small>{html.escape(words['footer'])}</small></p></body></html>"
    )
    return Notice(subject, "\n".join(lines) + "\n", body_html)


def message(notice: Notice, sender: str, recipient: str, message_id: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, recipient, notice.subject
    mail["Message-ID"] = f"<{message_id}@bridges>"
    mail.set_content(notice.text)
    mail.add_alternative(notice.html, subtype="html")
    return mail
