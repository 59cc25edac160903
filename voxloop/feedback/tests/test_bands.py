import pytest

from voxloop.feedback import bands


def test_nps_group_bands():
    assert [bands.nps_band(s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor", "detractor", "passive", "passive", "promoter", "promoter"]  # fmt: skip
    with pytest.raises(ValueError, match="0..10"):
        bands.nps_band(11)


def test_csat_bands():
    assert [bands.csat_band(s) for s in (1, 2, 3, 4, 5)] == ["low", "low", "neutral", "high", "high"]
    with pytest.raises(ValueError, match="1..5"):
        bands.csat_band(0)


def test_unhappy_is_a_detractor_or_a_low_csat():
    assert bands.is_unhappy(6, None) and bands.is_unhappy(None, 2) and bands.is_unhappy(8, 1)
    assert not bands.is_unhappy(7, 3) and not bands.is_unhappy(None, None)
    assert bands.answer_bands(9, 2) == ("promoter", "low")
