from voxloop_nlp.components.normalize import normalize_text, to_half_width


def test_full_width_ascii_becomes_half_width():
    assert to_half_width("ＡＢＣ１２３！") == "ABC123!"


def test_traditional_becomes_simplified_for_analysis():
    assert normalize_text("這個產品質量很差") == "这个产品质量很差"


def test_whitespace_and_bom_are_tidied_but_emoji_kept():
    assert normalize_text("\ufeff  好评   👍 \n\n 下次再来 ") == "好评 👍\n下次再来"


def test_english_is_left_alone():
    assert normalize_text("Great   phone") == "Great phone"
