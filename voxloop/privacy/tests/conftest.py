"""Consent tests reuse the case fixtures (feedback through the ingest path, a staffed team)."""

from voxloop.cases.tests.conftest import (  # noqa: F401 - fixtures
    make_feedback,
    sla_defaults,
    staffed_team,
)
