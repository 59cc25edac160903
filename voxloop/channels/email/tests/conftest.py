"""Email tests reuse the case fixtures (the SLA defaults and a staffed team) for the threading tests."""

from voxloop.cases.tests.conftest import sla_defaults, staffed_team  # noqa: F401 - fixtures
