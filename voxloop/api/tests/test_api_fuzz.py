"""Arbitrary JSON against the write endpoints: every answer is a 2xx or a clear 4xx, never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxloop.api.services import create_api_token

pytestmark = pytest.mark.django_db

FIELDS = [
    "text", "title", "channel", "received_at", "external_id", "source", "rating", "rating_scale", "customer_id",
    "customer_name", "email", "phone", "handle", "product", "product_name", "order_ref", "attachments",
    "thread_key", "customer_id", "name", "tags", "opted_out", "order_id", "ordered_at", "amount", "quantity",
]  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20), st.floats(allow_nan=False),
    st.text(max_size=40), st.sampled_from(["2026-01-02T03:04:05+08:00", "2026年3月5日", "1700000000", "a@b.cn",
                                           "13800001111", "review", "5", "-1", "1e400", "NaN"]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)  # noqa: E501
items = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), values, max_size=8)
bodies = st.one_of(st.fixed_dictionaries({"items": st.lists(items, max_size=4)}), values)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, endpoint=st.sampled_from(["feedback/batch", "feedback", "customers/batch", "orders/batch"]))
def test_write_endpoints_never_fail_with_500(client, body, endpoint):
    token = create_api_token("fuzz", ["feedback:write", "customers:write", "orders:write"])[1]
    response = client.post(
        f"/api/{endpoint}", json.dumps(body), content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert response.status_code in {200, 201, 400, 413, 422}, response.content[:500]
    assert response.json()  # always a JSON answer that says what happened
