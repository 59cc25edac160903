import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_every_environment_setting_is_documented():
    source = (ROOT / "voxloop" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'env(?:str|bool|int|secret)\("([A-Z_]+)"', source))
    documented = set(
        re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "docs" / "settings.md").read_text(encoding="utf-8"), re.M)
    )
    assert names, "no settings found: the pattern is out of date"
    assert not names - documented, f"undocumented settings: {sorted(names - documented)}"
