"""Schemathesis against the live Enrollment API: no server error, no response that breaks
the OpenAPI schema (status codes, content types, bodies), for valid and invalid input."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import checks
from schemathesis.generation import GenerationMode

from partners.services import (
    AggregatorDevice,
    api_key_create,
    enrollment_input_from_values,
    partner_enrollment_submit,
    partner_get_or_create,
    partner_program_enrollment_create,
)
from partners.tests.conftest import row
from programs.tests.factories import program_setup

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_schema_break(live_server, market, settings):
    settings.PARTNERS_API_RATE_LIMIT = 100_000
    partner, _ = partner_get_or_create(name="Fuzz Partner")
    _, key = api_key_create(partner=partner)
    data, ref = enrollment_input_from_values(row(1))
    enrollment = partner_enrollment_submit(partner=partner, data=data, channel="api", reference=ref)
    # a demand-response program and one program enrollment of this partner's customer
    setup = program_setup()
    program_enrollment = partner_program_enrollment_create(
        partner=partner,
        enrollment=enrollment,
        program_code=setup.program.code,
        devices=[
            AggregatorDevice(
                asset_type_code="thermostat", serial_number="FUZZ-1", network_address="10.9.9.9"
            )
        ],
    )

    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    auth = {"Authorization": f"Bearer {key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 11
    ran = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            path_parameters = None
            if "{enrollment_id}" in operation.path:
                path_parameters = {"enrollment_id": enrollment.pk}
            elif "{program_enrollment_id}" in operation.path:
                path_parameters = {"program_enrollment_id": program_enrollment.pk}
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

            @hypothesis_settings(
                max_examples=12,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case):
                nonlocal ran
                response = case.call(base_url=live_server.url, headers=auth, timeout=10)
                case.validate_response(response, checks=CHECKS, headers=auth)
                ran += 1

            run()
    assert ran >= 50
