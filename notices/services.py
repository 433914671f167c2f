"""Verbs of notices: save a template (placeholders checked), render, send email, queue letters."""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone, translation
from django.utils.html import escape, strip_tags

from notices import registry
from notices.models import Letter, NoticeTemplate
from opsadmin.errors import ApplicationError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    html: str
    text: str
    language: str = "en"  # the language the notice is written in
    fallback_from: str = ""  # the language asked for when no template existed in it


def notice_template_for(*, template: NoticeTemplate, language: str) -> NoticeTemplate:
    """The version of ``template`` written in ``language`` (an active translation), else
    ``template`` itself (English): a missing translation never stops a notice."""
    base = template.translation_of or template
    if base.language == language:
        return base
    version = base.translations.filter(language=language, active=True).first()
    return version or base


def notice_template_check(*, subject: str, body: str) -> None:
    """Refuse placeholders no app has registered (a typo would print ``[NAME]`` to customers)."""
    unknown = registry.unknown_placeholders([subject, body])
    if unknown:
        names = ", ".join(f"[{n}]" for n in unknown)
        raise ApplicationError(f"Unknown replacement value(s): {names}.", code="unknown_value")


@transaction.atomic
def notice_template_save(*, template: NoticeTemplate) -> NoticeTemplate:
    """Validate the template's fields and placeholders, then save it."""
    notice_template_check(subject=template.subject, body=template.body)
    if registry.record_kind(template.record_kind) is None:
        raise ApplicationError("Choose what the notice is about.", field="record_kind")
    template.full_clean()
    template.save()
    return template


def notice_render(
    *, template: NoticeTemplate, record: Any, language: str | None = None
) -> RenderedNotice:
    """Render a template for one record: HTML with escaped values, and a text version.

    With ``language`` (the customer's), the template's version in that language is used and
    the replacement values are formatted in it; without one, English. When that language
    has no template the English one is used and ``fallback_from`` says so (staff see it).
    """
    wanted = language or template.language or "en"
    chosen = notice_template_for(template=template, language=wanted) if template.pk else template
    kind = chosen.record_kind
    with translation.override(chosen.language or "en"):
        subject = registry.render(chosen.subject, record_kind=kind, record=record, html=False)
        html = registry.render(_body_html(chosen.body), record_kind=kind, record=record, html=True)
        # The text part: the template's markup is removed first, then plain values go in (so
        # a value that looks like markup stays as the customer's data, not stripped/escaped).
        text = registry.render(
            _template_text(chosen.body), record_kind=kind, record=record, html=False
        )
    fallback_from = "" if chosen.language == wanted else wanted
    if fallback_from:
        logger.warning(
            "notices.language_fallback",
            extra={"template_id": template.pk, "wanted": wanted, "used": chosen.language},
        )
    return RenderedNotice(
        subject=" ".join(subject.split()),
        html=html,
        text=text,
        language=chosen.language or "en",
        fallback_from=fallback_from,
    )


# A body with any HTML tag is HTML written by staff; one without is a plain-text letter.
_HTML_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")


def _body_html(body: str) -> str:
    """The body as HTML: a plain-text body keeps its line breaks and blank lines (escaped,
    each newline a ``<br>``); an HTML body is used as written."""
    body = body or ""
    if _HTML_TAG_RE.search(body):
        return body
    text = str(escape(body.replace("\r\n", "\n")))
    return "<br>\n".join(text.split("\n"))


def _template_text(body: str) -> str:
    body = re.sub(r"(?i)<br\s*/?>|</p>|</li>|</h\d>", "\n", body or "")
    text = html_lib.unescape(strip_tags(body))
    return "\n".join(line.strip() for line in text.splitlines()).strip()


def notice_email_send(*, rendered: RenderedNotice, to: str) -> None:
    """Send a rendered notice through Django's email backend (raises on failure)."""
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(rendered.html, "text/html")
    message.send(fail_silently=False)


@transaction.atomic
def letter_queue_add(
    *,
    template: NoticeTemplate | None,
    rendered: RenderedNotice,
    subject_type: str,
    subject_id: int,
    recipient_name: str,
    address_lines: list[str],
) -> Letter:
    """Put a rendered letter in the letter queue (once per subject)."""
    letter, _ = Letter.objects.get_or_create(
        subject_type=subject_type,
        subject_id=subject_id,
        defaults={
            "template": template,
            "recipient_name": recipient_name,
            "address_lines": "\n".join(line for line in address_lines if line),
            "body_html": rendered.html,
        },
    )
    return letter


MailedHandler = Callable[[int, datetime], None]
_MAILED_HANDLERS: dict[str, list[MailedHandler]] = defaultdict(list)


def on_letter_mailed(subject_type: str, handler: MailedHandler) -> None:
    """Register ``handler(subject_id, mailed_at)`` for letters about ``subject_type``."""
    if handler not in _MAILED_HANDLERS[subject_type]:
        _MAILED_HANDLERS[subject_type].append(handler)


@transaction.atomic
def letter_mark_mailed(*, letter: Letter, at: datetime | None = None) -> Letter:
    """Record that a queued letter was printed and mailed; tell the app that owns it."""
    locked = Letter.objects.select_for_update().get(pk=letter.pk)
    if locked.state != Letter.State.QUEUED:
        raise ApplicationError("Only a queued letter can be marked mailed.", code="not_queued")
    locked.state = Letter.State.MAILED
    locked.mailed_at = at or timezone.now()
    locked.save(update_fields=["state", "mailed_at"])
    for handler in _MAILED_HANDLERS.get(locked.subject_type, []):
        handler(locked.subject_id, locked.mailed_at)
    logger.info("notices.letter_mailed", extra={"letter_id": locked.pk})
    return locked
