"""Configured text in the customer's language (PUCT Subst. R. 25.473).

Text that staff configure and a customer reads (a plan's name, a drop reason, a program's
description, a utility's meter label...) is kept once per language: the English field
(``name``) and one field per other language (``name_es``), edited side by side in the
catalogue screens. A model says which of its fields are translated with
``TRANSLATED_FIELDS``; :func:`localized` reads the one for the active language and falls
back to English when the translation is blank, so a missing translation never hides text.

Staff screens render in English (``myaccount.middleware``), so they show the English text
whatever the customer reads; customer pages and emails (``translation.override``) show
theirs.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import translation

#: The languages that have their own column (every configured language but English).
OTHER_LANGUAGES = tuple(code for code, _name in settings.LANGUAGES if code != "en")


def active_language() -> str:
    """The active language's base code ("es" for "es-us"), English when none is active."""
    return (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0].lower()


def translated_field_name(field: str, language: str) -> str:
    """The column holding ``field`` in ``language`` (``name_es``); ``field`` for English."""
    return field if language == "en" else f"{field}_{language}"


def localized(obj: Any, field: str, language: str | None = None) -> str:
    """``obj.<field>`` in ``language`` (default: the active one), else the English text."""
    language = (language or active_language()).split("-")[0].lower()
    if language != "en" and language in OTHER_LANGUAGES:
        value = getattr(obj, translated_field_name(field, language), "")
        if value:
            return value
    return getattr(obj, field)


class Localized:
    """A read-only attribute giving ``field`` in the active language.

    ``local_name = Localized("name")`` on a model lets templates write
    ``{{ plan.local_name }}`` and Python ``plan.local_name``.
    """

    def __init__(self, field: str):
        self.field = field

    def __set_name__(self, owner, name: str) -> None:
        self.attribute = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return localized(obj, self.field)


def translation_fields(fields: list[str] | tuple[str, ...], model) -> list[str]:
    """``fields`` with each translated field followed by its other-language columns, for a
    catalogue ModelForm: ``["code", "name", "name_es", ...]``."""
    translated = set(getattr(model, "TRANSLATED_FIELDS", ()))
    out: list[str] = []
    for name in fields:
        out.append(name)
        if name in translated:
            out += [translated_field_name(name, lang) for lang in OTHER_LANGUAGES]
    return out


def in_each_language(message: str, params: dict[str, Any] | None = None) -> dict[str, str]:
    """``message`` translated into every configured language: ``{"en": ..., "es": ...}``.

    For a text written once and read later in the reader's language (a status reason a
    worker records, shown to staff in English and to the customer in theirs). Mark
    ``message`` with ``gettext_noop`` where it is written so the catalogue has it. Dates in
    ``params`` are written as each language writes them (``m/d/Y`` / ``d/m/Y``).
    """
    from django.utils import dateformat
    from django.utils.translation import gettext

    out: dict[str, str] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            text = gettext(message)
            if params:
                values = {
                    key: dateformat.format(value, gettext("m/d/Y"))
                    if hasattr(value, "strftime")
                    else value
                    for key, value in params.items()
                }
                text = text % values
            out[language] = text
    return out


SPANISH_HELP = "Spanish text customers read; empty shows the English."


def spanish_text(label: str, *, max_length: int | None = None) -> Any:
    """The Spanish column beside an English text field (``name_es`` beside ``name``): blank
    allowed, where :func:`localized` shows the English. A ``TextField`` without
    ``max_length``."""
    if max_length is None:
        return models.TextField(f"{label} (Spanish)", blank=True, help_text=SPANISH_HELP)
    return models.CharField(
        f"{label} (Spanish)", max_length=max_length, blank=True, help_text=SPANISH_HELP
    )
