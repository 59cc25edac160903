import pytest

from voxloop_nlp.components.normalize import normalize_text
from voxloop_nlp.components.segment import tokenize
from voxloop_nlp.doc import FeedbackDoc


@pytest.fixture
def make_doc():
    def make(text: str) -> FeedbackDoc:
        doc = FeedbackDoc(text=text, normalized=normalize_text(text))
        doc.lower = doc.normalized.lower()
        doc.tokens = tokenize(doc.lower)
        return doc

    return make
