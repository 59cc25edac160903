"""Customer segments from complaint history and value."""

from __future__ import annotations

import pytest

from voxloop.stats.segments import CustomerRecord, Segment, Segmentation, ValueTier, segment_customers


def population() -> list[CustomerRecord]:
    # ten ordinary customers set the quantiles: values 100..1000, orders 1..10
    base = [CustomerRecord(f"c{i}", lifetime_value=100 * i, orders=i) for i in range(1, 11)]
    return base + [
        CustomerRecord(
            "vip-angry", lifetime_value=5000, orders=20, complaints=2, resolved_satisfied=1, recent_unhappy=True
        ),
        CustomerRecord("vip-happy", lifetime_value=6000, orders=25, complaints=1, resolved_satisfied=1),
        CustomerRecord("small-angry", lifetime_value=50, orders=1, complaints=1, recent_unhappy=True),
        CustomerRecord("grumbler", lifetime_value=500, orders=5, complaints=4, resolved_satisfied=1),
        CustomerRecord("mid-content", lifetime_value=600, orders=6),
    ]


def test_customers_land_in_the_expected_segments():
    result = segment_customers(population())
    by_id = {p.customer: p for p in result.placements}
    assert by_id["vip-angry"].segment is Segment.HIGH_RISK_RECOVERY
    assert by_id["vip-happy"].segment is Segment.LOYAL_ADVOCATE
    assert by_id["small-angry"].segment is Segment.AT_RISK
    assert by_id["grumbler"].segment is Segment.AT_RISK and by_id["grumbler"].unresolved == 3
    assert by_id["mid-content"].segment is Segment.GROWTH_POTENTIAL
    assert by_id["c1"].tier is ValueTier.LOW and by_id["c1"].segment is Segment.OTHERS
    assert sum(result.counts.values()) == 15
    assert result.counts[Segment.HIGH_RISK_RECOVERY] == 1
    assert [p.customer for p in result.of(Segment.HIGH_RISK_RECOVERY)] == ["vip-angry"]


def test_thresholds_are_quantiles_of_the_customers_given():
    result = segment_customers(population(), high_quantile=0.5, low_quantile=0.2)
    assert result.thresholds is not None and result.thresholds.high_value == 600  # median of the 15 lifetime values
    by_id = {p.customer: p for p in result.placements}
    assert by_id["c6"].tier is ValueTier.HIGH  # high at the median, not at the 80th percentile
    default = segment_customers(population()).thresholds
    assert default is not None and default.high_value > 600


def test_zero_value_customers_are_never_high_value():
    result = segment_customers([CustomerRecord(i) for i in range(10)])
    assert {p.tier for p in result.placements} == {ValueTier.LOW}
    assert result.counts[Segment.OTHERS] == 10 and result.counts[Segment.LOYAL_ADVOCATE] == 0


def test_no_customers_gives_empty_counts():
    result: Segmentation[str] = segment_customers([])
    assert result.placements == [] and result.thresholds is None
    assert set(result.counts.values()) == {0}


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([CustomerRecord("a", lifetime_value=-1)], "lifetime_value"),
        ([CustomerRecord("a", complaints=1, resolved_satisfied=2)], "only 1 on record"),
        ([CustomerRecord("a"), CustomerRecord("a")], "twice"),
        ([CustomerRecord("a", orders="3")], "orders"),  # type: ignore[arg-type]  # a bad record is the test
        ([{"customer": "a"}], "expected CustomerRecord"),
    ],
)
def test_bad_records_get_a_specific_error(records, message):
    with pytest.raises(ValueError, match=message):
        segment_customers(records)


def test_bad_quantiles_are_refused():
    with pytest.raises(ValueError, match="quantiles"):
        segment_customers([], high_quantile=0.2, low_quantile=0.5)
