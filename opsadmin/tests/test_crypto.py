from __future__ import annotations

import pytest
from django.db import connection

from opsadmin import crypto
from opsadmin.models import ThirdPartyProvider

OLD = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleTE="
NEW = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleTE="


def test_round_trip_and_ciphertext_differs(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    token = crypto.encrypt("4111-22-3333")
    assert token.startswith("enc1:")
    assert "4111" not in token
    assert crypto.decrypt(token) == "4111-22-3333"


def test_wrong_key_fails_loudly(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("secret")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_rotation_keeps_old_values_readable_and_rewrites_under_new_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("secret")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert crypto.decrypt(token) == "secret"
    rotated = crypto.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert crypto.decrypt(rotated) == "secret"


@pytest.mark.django_db
def test_smt_password_is_encrypted_in_the_database():
    provider = ThirdPartyProvider.load()
    provider.smt_password = "hunter2-smt"
    provider.save()
    with connection.cursor() as cur:
        cur.execute("SELECT smt_password FROM opsadmin_thirdpartyprovider WHERE id = 1")
        raw = cur.fetchone()[0]
    assert raw.startswith("enc1:") and "hunter2" not in raw
    assert ThirdPartyProvider.load().smt_password == "hunter2-smt"
