"""NPS/CSAT drivers: difference of means, its interval and the weighted impact, checked by hand."""

from __future__ import annotations

import math

import pytest

from voxloop.stats.drivers import Scale, driver_impacts


def test_nps_driver_impact_matches_a_hand_calculation():
    responses = [
        (10, {"delivery"}),
        (3, {"delivery", "price"}),
        (6, {"delivery"}),
        (9, set()),
        (10, set()),
        (8, {"price"}),
        (2, set()),
        (9, {"price"}),
    ]
    drivers = {d.topic: d for d in driver_impacts(responses, scale=Scale.NPS, min_group=2)}
    delivery = drivers["delivery"]
    # mentioning delivery: promoter, detractor, detractor -> NPS = (1 - 2) / 3 = -33.3
    # not mentioning: 9, 10, 8, 2, 9 -> promoters 3, detractors 1 of 5 -> NPS = 40
    assert delivery.mentions == 3 and delivery.share == pytest.approx(3 / 8)
    assert delivery.mean_with == pytest.approx(-100 / 3)
    assert delivery.mean_without == pytest.approx(40)
    assert delivery.difference == pytest.approx(-100 / 3 - 40)
    assert delivery.impact == pytest.approx((-100 / 3 - 40) * 3 / 8)  # -27.5 NPS points
    price = drivers["price"]
    # price: 3 (detractor), 8 (passive), 9 (promoter) -> 0; others 10, 6, 9, 10, 2 -> (3 - 2) / 5 = 20
    assert price.difference == pytest.approx(-20) and price.impact == pytest.approx(-20 * 3 / 8)
    assert list(drivers) == ["delivery", "price"]  # ranked by |impact|


def test_csat_means_and_welch_interval_by_hand():
    responses = [(1, {"speed"}), (2, {"speed"}), (3, {"speed"}), (4, set()), (5, set()), (5, set()), (4, set())]
    (speed,) = driver_impacts(responses, scale="mean", min_group=3)
    assert speed.mean_with == pytest.approx(2.0) and speed.mean_without == pytest.approx(4.5)
    assert speed.difference == pytest.approx(-2.5)
    assert speed.impact == pytest.approx(-2.5 * 3 / 7)
    # Welch: var_with = 1, var_without = 1/3; se^2 = 1/3 + 1/12 = 5/12
    se2_a, se2_b = 1 / 3, (1 / 3) / 4
    dof = (se2_a + se2_b) ** 2 / (se2_a**2 / 2 + se2_b**2 / 3)
    from scipy.stats import t

    half = t.ppf(0.975, dof) * math.sqrt(se2_a + se2_b)
    assert speed.ci_low == pytest.approx(-2.5 - half) and speed.ci_high == pytest.approx(-2.5 + half)
    assert speed.ci_high is not None and speed.ci_high < 0  # clearly a drag on CSAT
    assert speed.enough_data


def test_small_groups_are_marked_not_enough_data_and_universal_topics_have_no_difference():
    drivers = {d.topic: d for d in driver_impacts([(9, {"all", "rare"}), (7, {"all"}), (3, {"all"})])}
    assert drivers["all"].difference is None and drivers["all"].impact is None
    assert not drivers["rare"].enough_data


@pytest.mark.parametrize(
    ("responses", "scale", "message"),
    [
        ([], "nps", "no responses"),
        ([(11, {"a"})], "nps", "0..10"),
        ([(7.5, {"a"})], "nps", "0..10"),
        ([("good", {"a"})], "mean", "must be a number"),
        ([(float("nan"), {"a"})], "mean", "must be a number"),
    ],
)
def test_bad_scores_get_a_specific_error(responses, scale, message):
    with pytest.raises(ValueError, match=message):
        driver_impacts(responses, scale=scale)


def test_topics_given_as_one_string_are_refused():
    with pytest.raises(ValueError, match="not the string 'delivery'"):
        driver_impacts([(5, "delivery")])


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="csat"):
        driver_impacts([(5, {"a"})], scale="csat")


# --- from additive sums (what the roll-ups hold) -------------------------------------------------------------


def _sums(scores: list[float]):
    from voxloop.stats.drivers import ScoreSums

    return ScoreSums(len(scores), float(sum(scores)), float(sum(s * s for s in scores)))


def test_nps_drivers_from_group_counts_equal_those_from_the_responses():
    from voxloop.stats.drivers import ScoreSums, driver_impacts_from_sums

    responses = [(10, {"delivery"}), (3, {"delivery", "price"}), (6, {"delivery"}), (9, set()), (10, set()),
                 (8, {"price"}), (2, set()), (9, {"price"})]  # fmt: skip
    # delivery: 1 promoter, 0 passives, 2 detractors; price: 1, 1, 1; everyone: 4, 1, 3
    by_topic = {"delivery": ScoreSums.from_nps_groups(1, 0, 2), "price": ScoreSums.from_nps_groups(1, 1, 1)}
    from_sums = driver_impacts_from_sums(ScoreSums.from_nps_groups(4, 1, 3), by_topic, min_group=2)
    from_rows = driver_impacts(responses, scale=Scale.NPS, min_group=2)
    assert [d.topic for d in from_sums] == ["delivery", "price"]
    for a, b in zip(from_sums, from_rows, strict=True):
        assert a.mentions == b.mentions and a.share == pytest.approx(b.share)
        assert a.mean_with == pytest.approx(b.mean_with) and a.mean_without == pytest.approx(b.mean_without)
        assert a.impact == pytest.approx(b.impact)
        assert a.ci_low == pytest.approx(b.ci_low) and a.ci_high == pytest.approx(b.ci_high)
    assert from_sums[0].impact == pytest.approx((-100 / 3 - 40) * 3 / 8)


def test_csat_drivers_from_sums_match_the_hand_calculation():
    from voxloop.stats.drivers import driver_impacts_from_sums

    (speed,) = driver_impacts_from_sums(_sums([1, 2, 3, 4, 5, 5, 4]), {"speed": _sums([1, 2, 3])}, min_group=3)
    assert speed.mean_with == pytest.approx(2.0) and speed.mean_without == pytest.approx(4.5)
    assert speed.impact == pytest.approx(-2.5 * 3 / 7)
    assert speed.ci_high is not None and speed.ci_high < 0 and speed.enough_data


def test_drivers_from_sums_reject_impossible_groups_and_skip_empty_ones():
    from voxloop.stats.drivers import ScoreSums, driver_impacts_from_sums

    with pytest.raises(ValueError, match="more respondents"):
        driver_impacts_from_sums(_sums([5, 4]), {"x": _sums([5, 4, 3])})
    with pytest.raises(ValueError, match="no responses"):
        driver_impacts_from_sums(ScoreSums(0, 0, 0), {})
    everyone = driver_impacts_from_sums(_sums([5, 4]), {"all": _sums([5, 4]), "none": ScoreSums(0, 0, 0)})
    assert [d.topic for d in everyone] == ["all"] and everyone[0].difference is None
