"""Spanish for everything a customer sees (PUCT Subst. R. 25.473): every customer-facing
template and Python string is marked for translation, and the Spanish catalogue translates
every marked message.

No GNU gettext is needed: templates are turned into gettext calls by Django's own
``templatize`` and read, like the Python modules, by Babel's extractor.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from django.forms import ChoiceField
from django.utils.functional import Promise
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"

# Every template a customer sees: public pages, My Account, emails.
CUSTOMER_TEMPLATES = [
    "templates/base.html",
    "templates/myaccount_base.html",
    "templates/components/*.html",
    "myaccount/templates/myaccount/*.html",
    "myaccount/templates/myaccount/email/*.txt",
    "enrollments/templates/enrollments/public_base.html",
    "enrollments/templates/enrollments/flow.html",
    "enrollments/templates/enrollments/steps/*.html",
    "enrollments/templates/enrollments/_fields.html",
    "drops/templates/drops/myaccount/*.html",
    "drops/templates/drops/email/*.txt",
    "programs/templates/programs/myaccount/*.html",
    "programs/templates/programs/email/*.txt",
    "usage/templates/usage/email/*.txt",
    "authorizations/templates/authorizations/public_base.html",
    "authorizations/templates/authorizations/start.html",
    "authorizations/templates/authorizations/status.html",
    "authorizations/templates/authorizations/_panel.html",
    "authorizations/templates/authorizations/_explain.html",
]
# Words that are the same in every language: names, units, identifiers.
INVARIANT = re.compile(
    r"Lone Star Power|Smart Meter Texas|Green Button|ESIID|MWh|kWh|TX|CSV|XML|SMT|OpsAdmin"
    r"|Español|English"  # each language is named in its own tongue
)
# Attributes a person reads or hears (screen readers).
READ_ATTRIBUTES = re.compile(
    r"""\b(?:aria-label|title|placeholder|alt|data-confirm)=(["'])(.*?)\1""", re.S
)


def customer_templates() -> list[Path]:
    paths: list[Path] = []
    for pattern in CUSTOMER_TEMPLATES:
        found = sorted(ROOT.glob(pattern))
        assert found, f"no template matches {pattern}"
        paths += found
    return paths


def _has_words(text: str) -> bool:
    return bool(re.search(r"[A-Za-z]{2,}", INVARIANT.sub(" ", text)))


def untranslated_text(source: str) -> list[str]:
    """Literal words in a template that are outside ``{% translate %}`` and
    ``{% blocktranslate %}`` (text nodes and read-aloud attributes)."""
    from django.template.base import Lexer, TokenType

    pieces: list[str] = []
    depth = 0  # inside blocktranslate / comment: translated or never shown
    css_class = False  # {% block body_class %}name{% endblock %}: a CSS class, not text
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in ("blocktranslate", "blocktrans", "comment"):
                depth += 1
            elif name in ("endblocktranslate", "endblocktrans", "endcomment"):
                depth -= 1
            css_class = token.contents.split()[:2] == ["block", "body_class"]
            pieces.append("\0")
        elif token.token_type == TokenType.TEXT and depth == 0 and not css_class:
            pieces.append(token.contents)
        elif token.token_type != TokenType.TEXT:
            pieces.append("\0")  # a variable or comment: not literal text
    text = "".join(pieces)
    problems = [value for _, value in READ_ATTRIBUTES.findall(text) if _has_words(value)]
    text = re.sub(r"(?is)<script\b.*?</script>|<style\b.*?</style>", " ", text)
    text = re.sub(r"<[^>]*>", " ", text)  # markup, attributes included
    problems += [" ".join(chunk.split()) for chunk in text.split("\0") if _has_words(chunk)]
    return problems


def test_the_check_finds_an_unmarked_string_and_accepts_marked_ones():
    assert untranslated_text("<p>Hello</p>") == ["Hello"]
    assert untranslated_text('<a aria-label="Close it">x</a>') == ["Close it"]
    assert untranslated_text("{% load i18n %}<p>{% translate 'Hello' %}</p>") == []
    marked = "{% blocktranslate %}Hi {{ name }}{% endblocktranslate %} <b>ESIID</b> {{ x }}"
    assert untranslated_text(marked) == []


@pytest.mark.parametrize("path", customer_templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_customer_template_text_is_marked_for_translation(path):
    assert untranslated_text(path.read_text()) == []


# --- configured texts a customer reads (opsadmin.i18n) -------------------------------------


def _translated_texts() -> dict[str, tuple[str, ...]]:
    """{model name in snake case: its translated fields} for every model that keeps one."""
    from django.apps import apps

    found = {}
    for model in apps.get_models():
        fields = getattr(model, "TRANSLATED_FIELDS", ())
        if fields:
            found[re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).lower()] = tuple(fields)
    return found


def untranslated_configured_text(source: str, texts: dict[str, tuple[str, ...]]) -> list[str]:
    """``{{ plan.name }}``-style reads of a translated field in a template: a customer must
    read ``local_name`` (their language, English when blank). A variable is taken to hold
    the model its last name part says (``row.plan``, ``item.program``, ``single_code`` for a
    drop code is listed in ALIASES; a time-of-use period, or the pricing's ``PeriodRule`` that
    carries its names, is read as ``period`` or ``tou_period``)."""
    aliases = {
        "code": "drop_code",
        "single_code": "drop_code",
        "drop": "drop_request",
        "period": "tou_period",
    }
    found = []
    for match in re.finditer(r"([a-z_]+)\.([a-z_]+)\b(?![.(])", source):
        owner, field = match.groups()
        owner = aliases.get(owner, owner)
        if field in texts.get(owner, ()) and not field.startswith("local_"):
            found.append(match.group(0))
    return found


def test_the_configured_text_check_finds_an_untranslated_read():
    texts = {"plan": ("name",), "drop_request": ("reason_description",)}
    assert untranslated_configured_text("{{ row.plan.name }}", texts) == ["plan.name"]
    assert untranslated_configured_text("{{ drop.reason_description }}", texts) == [
        "drop.reason_description"
    ]
    assert untranslated_configured_text("{{ row.plan.local_name }} {{ plan.code }}", texts) == []


def test_the_configured_text_check_knows_time_of_use_period_names():
    """TouPeriod keeps a Spanish name (enrollments 0012): reading ``name`` on a customer page
    is caught, whether the loop calls it ``period`` or ``tou_period``."""
    texts = _translated_texts()
    assert texts["tou_period"] == ("name",)
    assert untranslated_configured_text(
        "{% for period in row.periods %}{{ period.name }}{% endfor %}", texts
    ) == ["period.name"]
    assert untranslated_configured_text("{{ tou_period.name }}", texts) == ["tou_period.name"]
    assert untranslated_configured_text("{{ period.local_name }} {{ period.cents }}", texts) == []


@pytest.mark.parametrize("path", customer_templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_customer_templates_show_configured_texts_in_the_customers_language(path):
    assert untranslated_configured_text(path.read_text(), _translated_texts()) == []


# --- Python strings a customer reads ------------------------------------------------------


def _customer_forms():
    from authorizations.forms import AuthorizeForm, UploadForm
    from drops.forms import DropRequestForm
    from enrollments.forms import DatesForm, DetailsForm, OptionsForm, ReviewForm, SearchForm
    from myaccount.forms import ProfileForm, UsageForm
    from opsadmin.forms import CustomerLoginForm
    from programs.forms import DeviceEnrollForm, UnavailabilityForm

    return [
        AuthorizeForm,
        UploadForm,
        DropRequestForm,
        DatesForm,
        DetailsForm,
        OptionsForm,
        ReviewForm,
        SearchForm,
        ProfileForm,
        UsageForm,
        CustomerLoginForm,
        DeviceEnrollForm,
        UnavailabilityForm,
    ]


@pytest.mark.parametrize("form_class", _customer_forms(), ids=lambda f: f.__name__)
def test_customer_form_labels_and_choices_are_marked(form_class):
    """A label left to Django (None) is made from the field name, in English only."""
    unmarked = []
    for name, field in form_class.base_fields.items():
        if field.widget.is_hidden:
            continue
        if not isinstance(field.label, Promise):
            unmarked.append(f"{name}.label={field.label!r}")
        if field.help_text and not isinstance(field.help_text, Promise):
            unmarked.append(f"{name}.help_text={field.help_text!r}")
        if isinstance(field, ChoiceField) and not hasattr(field, "queryset"):
            for value, label in field.choices:
                if (
                    _has_words(str(label))
                    and not isinstance(label, Promise)
                    and value
                    not in (
                        "en",
                        "es",  # each language is named in its own tongue
                    )
                ):
                    unmarked.append(f"{name} choice {value}={label!r}")
    assert unmarked == []


CUSTOMER_VIEW_MODULES = [
    "myaccount/views.py",
    "programs/myaccount_views.py",
    "drops/views.py",
    "enrollments/views.py",
    "authorizations/views.py",
]


# Helpers only staff views call (the staff screens stay English).
STAFF_HELPERS = {"_drop_code_edit"}


def _is_staff_view(func: ast.FunctionDef) -> bool:
    if func.name in STAFF_HELPERS:
        return True
    for decorator in func.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id == "staff_required":
            return True
    return func.name.startswith("staff_") or func.name.startswith("_staff")


def unmarked_flash_messages(source: str) -> list[str]:
    """``messages.success(request, "literal")`` (or an f-string) in a non-staff view."""
    found = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef) or _is_staff_view(func):
            continue
        for call in ast.walk(func):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "messages"
                and len(call.args) >= 2
                and isinstance(call.args[1], (ast.Constant, ast.JoinedStr))
            ):
                found.append(f"{func.name}:{call.lineno}")
    return found


def test_the_flash_check_finds_a_literal_message():
    src = "def v(request):\n    messages.success(request, 'Saved.')\n"
    assert unmarked_flash_messages(src) == ["v:2"]
    assert unmarked_flash_messages(src.replace("'Saved.'", "gettext('Saved.')")) == []


@pytest.mark.parametrize("module", CUSTOMER_VIEW_MODULES)
def test_customer_flash_messages_are_marked(module):
    assert unmarked_flash_messages((ROOT / module).read_text()) == []


# --- the Spanish catalogue ----------------------------------------------------------------

KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
}
SKIP_DIRS = {".venv", ".local", "tests", "bench", "static", "node_modules", "locale"}


def _project_files(suffixes: tuple[str, ...]) -> list[Path]:
    return [
        p
        for p in ROOT.rglob("*")
        if p.suffix in suffixes and not SKIP_DIRS.intersection(p.relative_to(ROOT).parts)
    ]


def marked_messages() -> set[tuple[str | None, str]]:
    """(context, msgid) of every message marked in the project's templates and modules."""
    found: set[tuple[str | None, str]] = set()

    def add(chunks, where: Path) -> None:
        for _lineno, _func, message, _comments in chunks:
            context = None
            if isinstance(message, tuple):
                if _func in ("pgettext", "pgettext_lazy", "npgettext"):
                    context, message = message[0], message[1]
                else:
                    message = message[0]
            if message:
                found.add((context, message))

    for path in _project_files((".html", ".txt")):
        source = path.read_text()
        if "{% load" not in source or "i18n" not in source:
            continue
        # templatize() turns the template into gettext() calls, one string literal each;
        # the text between them is filler whose indentation means nothing to Python.
        code = "\n".join(line.strip() for line in templatize(source).splitlines())
        add(extract_python(_lines(code), KEYWORDS.keys(), [], {}), path)
    for path in _project_files((".py",)):
        add(extract_python(path.open("rb"), KEYWORDS.keys(), [], {}), path)
    return found


def _lines(text: str):
    import io

    return io.BytesIO(text.encode())


def test_the_spanish_catalogue_translates_every_marked_message():
    catalogue = read_po(CATALOGUE.open("rb"), locale="es")
    entries = {}
    for message in catalogue:
        if message.id:
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            entries[(message.context, key)] = message
    marked = marked_messages()
    assert len(marked) > 400  # the extraction found the customer surfaces
    missing = sorted(m[1] for m in marked if m not in entries)
    assert missing == [], f"not in locale/es/LC_MESSAGES/django.po: {missing}"
    untranslated = sorted(
        m[1]
        for m in marked
        if not all(
            entries[m].string if isinstance(entries[m].string, tuple) else [entries[m].string]
        )
        or entries[m].fuzzy
    )
    assert untranslated == [], f"empty or fuzzy in the Spanish catalogue: {untranslated}"
    placeholder = re.compile(r"%\(\w+\)s")
    broken = []
    for key in marked:
        message = entries[key]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(placeholder.findall(" ".join(ids)))
        if len(ids) > 1:
            # A plural form may leave the count out ("su última factura"), never add a name.
            if any(not set(placeholder.findall(s)) <= wanted for s in strings):
                broken.append(key[1])
        elif any(set(placeholder.findall(s)) != wanted for s in strings):
            broken.append(key[1])
    assert broken == [], f"placeholders differ from the English: {broken}"
