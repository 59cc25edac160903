from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data: drives the whole loop (ingest, analysis, rules, cases, surveys, roll-ups), so it sits on
    the top layer (docs/architecture/layers.md). It has no models; only its `load_demo` command."""

    name = "voxloop.demo"
