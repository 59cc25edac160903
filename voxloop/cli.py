"""The `voxloop` command.

`voxloop analyze` and `voxloop topics learn` run the analysis engine alone (no database, no Django); every other
sub-command is a Django management command (`voxloop import`, `voxloop serve`, `voxloop migrate`...).
"""

from __future__ import annotations

import os
import sys

from voxloop_nlp.cli import main as nlp_main

STANDALONE = {"analyze", "topics"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in STANDALONE:
        return nlp_main(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")
    if argv and argv[0] == "doctor":  # not a management command: it reads every app (voxloop/doctor.py)
        # imported here: `voxloop analyze` and `topics` run without loading Django
        import django

        django.setup()
        # imported here: doctor imports every app's models, which load only after django.setup()
        from voxloop.doctor import main as doctor_main

        return doctor_main(argv[1:])
    # imported here: `voxloop analyze` and `topics` run without loading Django
    from django.core.management import execute_from_command_line

    execute_from_command_line(["voxloop", *argv])
    return 0


if __name__ == "__main__":
    sys.exit(main())
