"""`voxloop create_api_token --name N --scopes feedback:write,feedback:read`: prints the token once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from voxloop.api.models import Scope
from voxloop.api.services import TokenError, create_api_token


class Command(BaseCommand):
    help = "Create an API token. The token is printed once and stored only as a hash."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="what the token is for, e.g. 'shop integration'")
        parser.add_argument("--scopes", required=True, help=f"comma-separated scopes: {', '.join(Scope.values)}")
        parser.add_argument("--quiet", action="store_true", help="print only the token (for scripts)")
        parser.add_argument(
            "--user", default="", help="user name the token acts for (needed for cases:read/cases:write)"
        )

    def handle(self, *args, **options):
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        user_id = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"There is no active user named {options['user']!r}.")
            user_id = user.pk
        try:
            token, raw = create_api_token(options["name"], scopes, created_by_id=user_id)
        except TokenError as exc:
            raise CommandError(exc.message) from exc
        if options["quiet"]:
            self.stdout.write(raw)
            return
        self.stdout.write(f"Created API token #{token.pk} '{token.name}' with scopes {', '.join(token.scopes)}.")
        self.stdout.write("Copy it now; it is not stored and cannot be shown again:")
        self.stdout.write(raw)
