"""Collection fixes for the API tests: one pytest item id per schemathesis operation."""

from __future__ import annotations

from collections import Counter

import pytest
from schemathesis.pytest.plugin import SchemathesisFunction


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every schemathesis operation its own node id.

    Schemathesis 4 names each operation's item ``test_x[POST /api/feedback]`` but passes the bare function name
    as ``originalname`` and no callspec; pytest 9 builds the node id from those two, so all operations share the
    id ``...::test_x``. pytest-xdist's ``--dist loadgroup`` (scripts/run-tests) schedules by node id, so it ran
    one operation of the seventeen and the summary line said ``operations=1``. The id gets the operation back
    as its parameter, the form older pytest gave it. Pytest 8 already does this, and then nothing changes here.
    """
    for item in items:
        if not isinstance(item, SchemathesisFunction) or item.name == item.originalname:
            continue
        node_id = getattr(item, "_id", None)  # pytest 9's structured id; pytest 8 has none and needs no fix
        if node_id is not None and node_id.params is None:
            item._id = node_id.with_params(item.name[len(item.originalname) + 1 : -1])
    # Whatever the next version pair does: two operations behind one id would again be run as one, silently.
    ids = Counter(item.nodeid for item in items if isinstance(item, SchemathesisFunction))
    shared = sorted(nodeid for nodeid, n in ids.items() if n > 1)
    if shared:
        raise pytest.UsageError(f"schemathesis operations share a pytest node id, so xdist would run one: {shared}")
