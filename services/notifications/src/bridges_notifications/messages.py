"""Email notices in English and Spanish (plain text and HTML): what happened, a short reference
and a link. Never PII: staff and officers sign in to see the family's details."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

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
_TEXT = {
    "en": {
        "new_subject": "New referral {ref} (urgency {urgency})",
        "new_body": "A new referral {ref} was sent to your agency. Urgency: {urgency}.",
        "overdue_subject": "Referral {ref} is waiting for an answer",
        "overdue_body": "Referral {ref} has not been answered within its response target.",
        "status_subject": "Referral {ref} is now {status}",
        "status_body": "The referral {ref} you filed is now {status}.",
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
        "link": "Ábrala en Bridges: {link}",
        "footer": "Inicie sesión en Bridges para ver los detalles. No responda a este correo.",
    },
}


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    html: str


def reference(referral_id: str) -> str:
    return "R-" + referral_id.replace("-", "")[:8].upper()


def compose(event: dict[str, Any], language: str, link_base: str) -> Notice:
    """The notice for a referral event, in `language` (English when not supported)."""
    lang = language if language in LANGUAGES else "en"
    words, data = _TEXT[lang], event["data"]
    kind = event["type"].split(".")[3]  # org.bridges.referral.<kind>.v1
    values = {
        "ref": reference(str(data["referral_id"])),
        "urgency": _URGENCY[lang].get(data.get("urgency", ""), data.get("urgency", "")),
        "status": _STATUS[lang].get(data.get("status", ""), data.get("status", "")),
        "link": f"{link_base.rstrip('/')}/referrals/{data['referral_id']}",
    }
    key = {"requested": "new", "overdue": "overdue"}.get(kind, "status")
    subject = words[f"{key}_subject"].format(**values)
    lines = [
        words[f"{key}_body"].format(**values),
        words["link"].format(**values),
        "",
        words["footer"],
    ]
    link = html.escape(values["link"])
    body_html = (
        f'<html lang="{lang}"><body><p>{html.escape(lines[0])}</p>'
        f'<p><a href="{link}">{link}</a></p><p><small>{html.escape(words["footer"])}</small></p>'
        "</body></html>"
    )
    return Notice(subject, "\n".join(lines) + "\n", body_html)


def message(notice: Notice, sender: str, recipient: str, message_id: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, recipient, notice.subject
    mail["Message-ID"] = f"<{message_id}@bridges>"
    mail.set_content(notice.text)
    mail.add_alternative(notice.html, subtype="html")
    return mail
