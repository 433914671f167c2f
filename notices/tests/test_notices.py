"""The registry, unknown placeholders, escaping, the editor (save + preview), letter queue."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from notices import registry
from notices.models import Letter, NoticeTemplate
from notices.services import letter_mark_mailed, notice_template_save, on_letter_mailed
from opsadmin.errors import ApplicationError
from opsadmin.models import User

THINGS = {
    1: SimpleNamespace(name="<script>alert(1)</script> & Co", lines=["a < b", "c & d"]),
}


def _thing_name(t):
    return t.name


def _thing_lines(t):
    return t.lines


registry.register_record_kind(
    "test_thing",
    label="Test thing",
    loader=THINGS.get,
    choices=lambda: [(pk, t.name) for pk, t in THINGS.items()],
)
registry.register(
    "TEST_THING_NAME", description="A test value.", resolver=_thing_name, record="test_thing"
)
registry.register(
    "TEST_THING_LINES", description="Test lines.", resolver=_thing_lines, record="test_thing"
)


def test_placeholders_and_unknown_names():
    text = "Hi [TEST_THING_NAME], [NOT_A_VALUE] [TEST_THING_NAME] [lower] [X1_Y]"
    assert registry.placeholders_in(text) == ["TEST_THING_NAME", "NOT_A_VALUE", "X1_Y"]
    assert registry.unknown_placeholders([text, "[ALSO_BAD]"]) == [
        "NOT_A_VALUE",
        "X1_Y",
        "ALSO_BAD",
    ]


def test_render_escapes_values_not_template_markup():
    t = THINGS[1]
    html = registry.render(
        "<p>[TEST_THING_NAME]</p>[TEST_THING_LINES]", record_kind="test_thing", record=t, html=True
    )
    assert html == ("<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p>a &lt; b<br>\nc &amp; d")
    text = registry.render(
        "[TEST_THING_NAME]/[TEST_THING_LINES]", record_kind="test_thing", record=t, html=False
    )
    assert text == "<script>alert(1)</script> & Co/a < b\nc & d"
    # A value for another record kind renders empty; an unknown name is left as written.
    assert (
        registry.render("[TEST_THING_NAME][NOPE]", record_kind="other", record=t, html=True)
        == "[NOPE]"
    )


def test_register_rejects_bad_names_and_conflicts():
    with pytest.raises(ValueError):
        registry.register("lower_case", description="", resolver=_thing_name, record="test_thing")
    with pytest.raises(ValueError):
        registry.register(
            "TEST_THING_NAME", description="", resolver=lambda t: "", record="test_thing"
        )


@pytest.mark.django_db
def test_save_refuses_unknown_placeholders():
    template = NoticeTemplate(
        code="t1",
        name="T1",
        kind="email",
        record_kind="test_thing",
        subject="[TEST_THING_NAME]",
        body="<p>[TEST_THING_NAME] [TYPO_VALUE]</p>",
    )
    with pytest.raises(ApplicationError, match=r"Unknown replacement value\(s\): \[TYPO_VALUE\]\."):
        notice_template_save(template=template)
    assert NoticeTemplate.objects.filter(code="t1").count() == 0
    template.body = "<p>[TEST_THING_NAME]</p>"
    notice_template_save(template=template)
    assert NoticeTemplate.objects.filter(code="t1").count() == 1


def _ops_client() -> Client:
    user = User.objects.create_user(username="ops", password="x-Password-123", kind="staff")
    user.groups.add(Group.objects.get(name="Ops"))
    client = Client()
    client.force_login(user)
    return client


FORM = {
    "name": "Welcome",
    "code": "welcome",
    "kind": "email",
    "record_kind": "test_thing",
    "subject": "Hello [TEST_THING_NAME]",
    "active": "on",
}


@pytest.mark.django_db
def test_editor_rejects_unknown_on_save_and_previews_against_a_record():
    client = _ops_client()
    page = client.get("/notices/new/")
    assert b"[TEST_THING_NAME]" in page.content and b"A test value." in page.content

    bad = client.post("/notices/new/", {**FORM, "body": "<p>[NOPE_VALUE]</p>", "action": "save"})
    assert bad.status_code == 422
    assert b"Unknown replacement value(s): [NOPE_VALUE]." in bad.content
    assert not NoticeTemplate.objects.filter(code="welcome").exists()

    preview = client.post(
        "/notices/new/",
        {**FORM, "body": "<p>[TEST_THING_NAME]</p>", "action": "preview", "record_id": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert preview.status_code == 200
    assert b"<h1>" not in preview.content  # the partial only
    # srcdoc is attribute-escaped once more: the value is escaped inside the HTML it holds.
    assert (
        b"&lt;p&gt;&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; &amp;amp; Co&lt;/p&gt;"
        in preview.content
    )
    assert b"Hello &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in preview.content
    assert not NoticeTemplate.objects.filter(code="welcome").exists()  # preview never saves

    ok = client.post(
        "/notices/new/", {**FORM, "body": "<p>[TEST_THING_NAME]</p>", "action": "save"}
    )
    assert ok.status_code == 302
    assert NoticeTemplate.objects.get(code="welcome").body == "<p>[TEST_THING_NAME]</p>"


@pytest.mark.django_db
def test_letter_mailed_tells_the_owner_once():
    heard: list[int] = []
    on_letter_mailed("test_subject", lambda subject_id, at: heard.append(subject_id))
    letter = Letter.objects.create(
        subject_type="test_subject",
        subject_id=42,
        recipient_name="X",
        address_lines="1 Main",
        body_html="<p>x</p>",
    )
    letter_mark_mailed(letter=letter)
    assert heard == [42]
    with pytest.raises(ApplicationError):
        letter_mark_mailed(letter=letter)
    assert heard == [42]


@pytest.mark.django_db
def test_spanish_version_is_saved_in_the_editor_and_rendered_with_english_fallback():
    """PUCT Subst. R. 25.473: a template per language; a missing one falls back to English
    and says so (``fallback_from``), so staff can see which customers got English."""
    from notices.services import notice_render

    client = _ops_client()
    english = client.post(
        "/notices/new/", {**FORM, "body": "<p>Hello [TEST_THING_NAME]</p>", "action": "save"}
    )
    assert english.status_code == 302
    base = NoticeTemplate.objects.get(code="welcome")
    assert base.language == "en"  # the editor's default
    spanish_form = {
        **FORM,
        "code": "welcome-es",
        "language": "es",
        "subject": "Hola [TEST_THING_NAME]",
        "body": "<p>Hola [TEST_THING_NAME]</p>",
        "action": "save",
    }
    orphan = client.post("/notices/new/", spanish_form)
    assert orphan.status_code == 422  # a translation names its English original
    assert b"Choose the English template this one translates." in orphan.content
    saved = client.post("/notices/new/", {**spanish_form, "translation_of": base.pk})
    assert saved.status_code == 302
    listing = client.get("/notices/").content.decode()
    assert 'ES <small class="muted">(translates welcome)</small>' in listing

    thing = THINGS[1]
    spanish = notice_render(template=base, record=thing, language="es")
    assert (spanish.subject, spanish.language, spanish.fallback_from) == (
        "Hola <script>alert(1)</script> & Co",
        "es",
        "",
    )
    assert spanish.html == "<p>Hola &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p>"
    english_render = notice_render(template=base, record=thing, language="en")
    assert (english_render.language, english_render.fallback_from) == ("en", "")
    NoticeTemplate.objects.filter(code="welcome-es").delete()
    fallback = notice_render(template=base, record=thing, language="es")
    assert fallback.subject.startswith("Hello ")
    assert (fallback.language, fallback.fallback_from) == ("en", "es")
