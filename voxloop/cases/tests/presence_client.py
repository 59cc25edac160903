"""A web process of its own for test_presence.py: it reads heartbeats ("CASE_ID USERNAME STATE", one a line)
from stdin, serves each through the whole Django stack as that agent's case page would send it, and writes
back one JSON line with the status and the collision notice it answered. ``python -m
voxloop.cases.tests.presence_client`` with the settings of presence_settings.py."""

from __future__ import annotations

import json
import sys

import django


def main() -> None:
    django.setup()
    # Only importable once the app registry is ready.
    from django.test import Client
    from django.test.utils import setup_test_environment

    from voxloop.accounts.models import User

    setup_test_environment()  # the test client's host name is allowed
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        case_id, username, state = line.split()
        client = Client()
        client.force_login(User.objects.get(username=username))
        response = client.post(f"/cases/{case_id}/presence/", {"state": state})
        print(json.dumps({"status": response.status_code, "html": response.content.decode()}), flush=True)


if __name__ == "__main__":
    main()
