import pytest

from voxloop.channels.fileimport import preparer


@pytest.fixture
def in_process(monkeypatch):
    """Send every import through the reader process (preparer.py), whatever the database and the file's size."""
    from django.db import connection

    monkeypatch.setattr(preparer, "MIN_ROWS", 0)
    monkeypatch.setattr(preparer, "VENDORS", frozenset({connection.vendor}))
