import pytest

from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import Pipeline, PipelineError


def test_pipeline_refuses_unmet_requirements():
    with pytest.raises(PipelineError, match="'sentiment' requires .*tokens"):
        Pipeline(["normalize", "sentiment"])


def test_pipeline_refuses_unknown_component():
    with pytest.raises(PipelineError, match="Unknown component 'ner'"):
        Pipeline(["normalize", "ner"])


def test_partial_pipeline_runs_only_its_components():
    doc = Pipeline(["normalize", "language", "pii"])(FeedbackDoc(text="電話 13812345678"))
    assert doc.language == "zh-Hant"
    assert doc.masked_text == "電話 [PHONE]"
    assert doc.topics == []
    assert doc.kind == "other"
