import pytest

from voxloop.feedback import bands


def test_nps_group_bands():
    assert [bands.nps_band(s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor", "detractor", "passive", "passive", "promoter", "promoter"]  # fmt: skip
    with pytest.raises(ValueError, match="0..10"):
        bands.nps_band(11)
