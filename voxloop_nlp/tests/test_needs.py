from voxloop_nlp.components.needs import extract_needs


def test_chinese_needs():
    assert extract_needs("东西不错,希望提供视频教程,说明书看不懂") == ["希望提供视频教程"]
    assert extract_needs("建议增加夜间配送") == ["建议增加夜间配送"]


def test_english_needs():
    assert extract_needs("Good phone. Would be nice if it came with a charger.") == [
        "Would be nice if it came with a charger"
    ]
    assert extract_needs("Please add a dark mode") == ["Please add a dark mode"]


def test_no_needs():
    assert extract_needs("快递很快,包装完好") == []
