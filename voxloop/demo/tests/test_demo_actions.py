"""The demo's improvement actions: every status, and the three measured stories tell what their names say."""

import pytest

from voxloop.actions.models import ActionStatus, EffectMeasurement, ImprovementAction
from voxloop.demo import phrases as P
from voxloop.demo.actions import load_demo_actions
from voxloop.demo.generator import ensure_users
from voxloop.feedback.models import Product

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_demo_actions_cover_every_status_and_their_charts_show_why():
    ensure_users()
    for code, name, name_en, category in P.PRODUCTS:
        Product.objects.create(code=code, name=name, name_en=name_en, category=category)
    assert load_demo_actions() == 8
    assert load_demo_actions() == 0  # idempotent
    statuses = set(ImprovementAction.objects.values_list("status", flat=True))
    assert statuses == {
        ActionStatus.PROPOSED, ActionStatus.APPROVED, ActionStatus.IN_PROGRESS, ActionStatus.IMPLEMENTED,
        ActionStatus.VERIFYING,
        ActionStatus.CLOSED_EFFECTIVE, ActionStatus.CLOSED_NOT_EFFECTIVE, ActionStatus.CANCELLED,
    }  # fmt: skip
    carrier = ImprovementAction.objects.get(origin_ref="demo-carrier")
    assert "repeat_rate" in carrier.baseline and "nps" in carrier.baseline
    report = EffectMeasurement.objects.get(action=carrier).report
    assert report["verdict"] == "effective" and report["relative_improvement"] > 0.4
    packaging = ImprovementAction.objects.get(origin_ref="demo-packaging")
    assert packaging.latest_verdict == "not_effective"
    assert ImprovementAction.objects.get(origin_ref="demo-guide").latest_verdict == "too_early"
    pairing = ImprovementAction.objects.get(origin_ref="demo-pairing")
    measured = EffectMeasurement.objects.get(action=pairing)
    assert pairing.status == ActionStatus.VERIFYING and measured.horizon_days == 14
    assert measured.report["improvement"]["value"] > 0  # below the expected line already; 30 days still to come
    assert carrier.public_note  # ready for "we fixed it"
    late = ImprovementAction.objects.get(origin_ref="demo-price")
    assert late.overdue_notified_on is not None
