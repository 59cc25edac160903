"""`voxloop reanalyze`: recompute stored analysis, e.g. after `voxloop retrain` switched models."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from voxloop.analysis import services
from voxloop.feedback.models import AnalysisStatus, Feedback


class Command(BaseCommand):
    help = "Re-analyse feedback whose stored analysis comes from another model version (or all with --all)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="re-analyse every item, whatever its version")
        parser.add_argument(
            "--background", action="store_true", help="queue Celery tasks instead of working in this process"
        )

    def handle(self, *args, **options):
        from voxloop.analysis.model_switch import ensure_active_model

        version = ensure_active_model()
        items = Feedback.objects.all()
        if not options["all"]:
            items = items.exclude(model_version=version)
        ids = list(items.order_by("id").values_list("id", flat=True))
        # Marking them pending first means a crash part-way leaves them to the catch-up task.
        for start in range(0, len(ids), 5000):
            Feedback.objects.filter(pk__in=ids[start : start + 5000]).update(analysis_status=AnalysisStatus.PENDING)
        if options["background"]:
            from voxloop.analysis.dispatch import queue_analysis

            queue_analysis(ids)
            self.stdout.write(f"Queued {len(ids):,} items for re-analysis.")
            return
        with tqdm(total=len(ids), unit="items", desc="reanalyze", disable=not ids) as bar:
            for start in range(0, len(ids), services.ANALYSIS_CHUNK):
                chunk = ids[start : start + services.ANALYSIS_CHUNK]
                services.analyze_feedback(chunk)
                bar.update(len(chunk))
        self.stdout.write(f"Re-analysed {len(ids):,} items with model {version}.")
