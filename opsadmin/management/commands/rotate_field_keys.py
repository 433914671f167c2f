"""Re-encrypt every EncryptedTextField under the newest key of FIELD_ENCRYPTION_KEYS.

Rotation: prepend a new key to ``FIELD_ENCRYPTION_KEYS`` (old keys stay, they still
decrypt), deploy, run this command, then drop the old key. Rows are handled in batches by
primary key, each batch in its own transaction, so a large table never holds one long lock.
A value that no configured key decrypts stops the command with the model and row id (never
the value).
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Model

from opsadmin.crypto import PREFIX, DecryptionError, EncryptedTextField, rotate


def encrypted_fields() -> list[tuple[type[Model], list[str]]]:
    """Every concrete model with EncryptedTextField columns, and those columns."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        names = [
            f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        ]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field under the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        total = 0
        for model, names in encrypted_fields():
            count = self._rotate_model(model, names, batch_size)
            total += count
            self.stdout.write(f"{model._meta.label}: {count} values re-encrypted")
        self.stdout.write(f"total: {total} values re-encrypted")

    def _rotate_model(self, model, names: list[str], batch_size: int) -> int:
        """Reads and writes the stored ciphertext directly (the ORM would hand back plaintext
        and re-encrypt on save; SQL keeps plaintext out of Python objects and skips save())."""
        table = model._meta.db_table
        pk = model._meta.pk.column
        columns = [model._meta.get_field(n).column for n in names]
        from django.db import connection

        qn = connection.ops.quote_name
        head = f"SELECT {qn(pk)}, {', '.join(qn(c) for c in columns)} FROM {qn(table)}"  # noqa: S608 - identifiers from the model, quoted
        first = f"{head} ORDER BY {qn(pk)} LIMIT %s"
        after = f"{head} WHERE {qn(pk)} > %s ORDER BY {qn(pk)} LIMIT %s"
        last = None
        done = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                if last is None:
                    cursor.execute(first, [batch_size])
                else:
                    cursor.execute(after, [last, batch_size])
                rows = cursor.fetchall()
                if not rows:
                    break
                for row in rows:
                    row_pk, values = row[0], row[1:]
                    changes = {}
                    for column, stored in zip(columns, values, strict=True):
                        if not stored:
                            continue
                        if not stored.startswith(PREFIX):
                            raise CommandError(
                                f"{model._meta.label} id {row_pk}: {column} is not encrypted"
                            )
                        try:
                            changes[column] = rotate(stored)
                        except Exception as exc:  # InvalidToken from MultiFernet.rotate
                            raise CommandError(
                                f"{model._meta.label} id {row_pk}: no configured key decrypts "
                                f"{column}"
                            ) from DecryptionError(exc.__class__.__name__)
                    if changes:
                        assignments = ", ".join(f"{qn(c)} = %s" for c in changes)
                        cursor.execute(
                            f"UPDATE {qn(table)} SET {assignments} WHERE {qn(pk)} = %s",  # noqa: S608
                            [*changes.values(), row_pk],
                        )
                        done += len(changes)
                last = rows[-1][0]
        return done
