"""Issue #23 bugs 3 and 4: the preview picker lists the records of the kind chosen in
"About", and a plain-text letter keeps its line breaks in the preview and the letter."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from notices.models import NoticeTemplate
from notices.services import notice_render
from opsadmin.models import User
from prospects.models import Prospect

pytestmark = pytest.mark.django_db


def _ops_client() -> Client:
    user = User.objects.create_user(username="ops", password="x-Password-123", kind="staff")
    user.groups.add(Group.objects.get(name="Ops"))
    client = Client()
    client.force_login(user)
    return client


def _options(html: str) -> list[str]:
    picker = html[html.index('id="preview-picker"') :]
    picker = picker[: picker.index("</select>")]
    return re.findall(r"<option[^>]*>([^<]*)</option>", picker)


def test_about_prospect_lists_prospects_in_the_picker_with_and_without_htmx():
    acme = Prospect.objects.create(company_name="Acme Ice")
    client = _ops_client()
    page = client.get("/notices/new/").content.decode()
    # The About select reloads the picker when it changes.
    about = re.search(r'<select name="record_kind"[^>]*>', page).group(0)
    assert 'hx-get="/notices/new/"' in about and 'hx-target="#preview-picker"' in about
    # htmx: only the picker comes back, listing prospects.
    partial = client.get("/notices/new/?record_kind=prospect", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    body = partial.content.decode()
    assert "<h1>" not in body
    assert _options(body) == ["— choose —", f"#{acme.pk} Acme Ice"]
    assert "Lists prospect records (About)." in body
    # Without JavaScript: Preview posts About = Prospect; the page lists prospects and the
    # preview is rendered against the prospect.
    form = {
        "name": "Hello",
        "code": "hello-prospect",
        "kind": "letter",
        "record_kind": "prospect",
        "subject": "",
        "body": "<p>Dear [PROSPECT_COMPANY]</p>",
        "active": "on",
        "action": "preview",
        "record_id": str(acme.pk),
    }
    response = client.post("/notices/new/", form)
    html = response.content.decode()
    assert _options(html) == ["— choose —", f"#{acme.pk} Acme Ice"]
    assert "Dear Acme Ice" in html
    assert "No such" not in html
    # An id that is no prospect says which list to choose from.
    response = client.post("/notices/new/", {**form, "record_id": str(acme.pk + 999)})
    assert "No such prospect: choose one from the list." in response.content.decode()
    assert not NoticeTemplate.objects.filter(code="hello-prospect").exists()


def test_plain_text_letter_keeps_its_line_breaks():
    acme = Prospect.objects.create(company_name="Acme & Sons")
    draft = NoticeTemplate(
        record_kind="prospect",
        kind="letter",
        body="Dear [PROSPECT_COMPANY],\n\nYour plan renews soon.\r\nThanks <3",
    )
    rendered = notice_render(template=draft, record=acme)
    assert rendered.html == (
        "Dear Acme &amp; Sons,<br>\n<br>\nYour plan renews soon.<br>\nThanks &lt;3"
    )
    assert rendered.text == "Dear Acme & Sons,\n\nYour plan renews soon.\nThanks <3"
    # An HTML body is used as written (its own markup decides the breaks).
    draft.body = "<p>Dear [PROSPECT_COMPANY],</p>\n<p>Bye</p>"
    assert notice_render(template=draft, record=acme).html == (
        "<p>Dear Acme &amp; Sons,</p>\n<p>Bye</p>"
    )
    # The editor's preview shows the breaks (inside the iframe's srcdoc).
    client = _ops_client()
    response = client.post(
        "/notices/new/",
        {
            "name": "Plain",
            "code": "plain",
            "kind": "letter",
            "record_kind": "prospect",
            "body": "Line one\nLine two",
            "action": "preview",
            "record_id": str(acme.pk),
        },
        HTTP_HX_REQUEST="true",
    )
    assert "Line one&lt;br&gt;\nLine two" in response.content.decode()
