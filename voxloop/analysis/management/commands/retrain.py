"""`voxloop retrain`: retrain the sentiment (and topic) model with people's corrections, switch only if not worse."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from voxloop.analysis import services
from voxloop.analysis.model_switch import models_dir, switch_to


class Command(BaseCommand):
    help = "Retrain with users' corrections, evaluate on a held-out split, and switch if the new model is not worse."

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", default="", help="labelled training data (default ../shared/datasets)")
        parser.add_argument("--limit-per-dataset", type=int, default=None, help="train on a sample (quick checks)")
        parser.add_argument("--dry-run", action="store_true", help="train and evaluate, but do not switch")
        parser.add_argument("--reanalyze", action="store_true", help="after a switch, re-analyse stored feedback")

    def handle(self, *args, **options):
        from voxloop.analysis.model_switch import ensure_active_model
        from voxloop_nlp import models_store
        from voxloop_nlp.training import RetrainError, retrain

        ensure_active_model()
        corrections = services.training_corrections("sentiment")
        topic_examples = [(text, codes) for text, codes in services.training_corrections("topics") if codes]
        version = models_store.next_version()
        out = Path(models_dir()) / version
        self.stdout.write(
            f"Retraining with {len(corrections)} sentiment and {len(topic_examples)} topic corrections -> {out}"
        )
        try:
            report = retrain(
                corrections,
                data_dir=options["data_dir"] or None,
                out_dir=out,
                base_dir=models_store.active().directory,
                topic_examples=topic_examples,
                taxonomy=services.current_taxonomy(),
                limit_per_dataset=options["limit_per_dataset"],
                version=version,
            )
        except RetrainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary())
        for name, metrics in sorted(report.new_metrics.items()):
            old = report.old_metrics.get(name, {})
            self.stdout.write(f"  {name}: {old.get('accuracy', 0):.4f} -> {metrics.get('accuracy', 0):.4f}")
        if report.not_worse and not options["dry_run"]:
            switch_to(out)
            self.stdout.write(f"Switched to {report.new_version}.")
            if options["reanalyze"]:
                from django.core.management import call_command

                call_command("reanalyze", "--background")
        elif not report.not_worse:
            self.stdout.write("Kept the current model: the new one was worse on the held-out split.")
