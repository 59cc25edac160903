"""`voxloop retrain`: retrain the sentiment (and topic) model with people's corrections, switch only if not worse."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from voxloop.analysis import jobs, services
from voxloop_nlp.training import RETRAIN_STEPS, RetrainError, RetrainReport, worse_sets

STEP_NAMES = {
    "load": "loading data",
    "train": "training",
    "evaluate_old": "scoring the current model",
    "evaluate_new": "scoring the new model",
    "save": "saving",
    "done": "done",
}


def _worse(report: RetrainReport) -> list[str]:
    return worse_sets(report.old_metrics, report.new_metrics)


class Command(BaseCommand):
    help = "Retrain with users' corrections, evaluate on a held-out split, and switch if the new model is not worse."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-dir",
            default="",
            help=(
                "a developer's copy of the labelled datasets: train from scratch on them "
                "(default: refit on the training state shipped with the package; no datasets needed)"
            ),
        )
        parser.add_argument("--limit-per-dataset", type=int, default=None, help="train on a sample (quick checks)")
        parser.add_argument("--dry-run", action="store_true", help="train and evaluate, but do not switch")
        parser.add_argument("--reanalyze", action="store_true", help="after a switch, re-analyse stored feedback")

    def handle(self, *args: Any, **options: Any) -> None:
        n_sentiment = len(services.training_corrections("sentiment"))
        n_topics = len([1 for _, codes in services.training_corrections("topics") if codes])
        self.stdout.write(f"Retraining with {n_sentiment} sentiment and {n_topics} topic corrections")
        # The bar goes to stderr (stdout carries the report that scripts read).
        with tqdm(total=len(RETRAIN_STEPS), unit="step", desc="retrain") as bar:

            def progress(step: str, done: int, total: int) -> None:
                bar.set_postfix_str(STEP_NAMES.get(step, step))
                bar.update(done - bar.n)

            try:
                outcome = jobs.run_retrain(
                    dry_run=options["dry_run"],
                    data_dir=options["data_dir"] or None,
                    limit_per_dataset=options["limit_per_dataset"],
                    progress=progress,
                )
            except RetrainError as exc:
                raise CommandError(str(exc)) from exc
        report = outcome.report
        self.stdout.write(f"New model written to {report.out_dir}")
        self.stdout.write(report.summary())
        for name, metrics in sorted(report.new_metrics.items()):
            old = report.old_metrics.get(name, {})
            self.stdout.write(f"  {name}: {old.get('accuracy', 0):.4f} -> {metrics.get('accuracy', 0):.4f}")
        if outcome.switched:
            self.stdout.write(f"Switched to {report.new_version}.")
            if options["reanalyze"]:
                call_command("reanalyze", "--background")
        elif not report.not_worse:
            worse = ", ".join(_worse(report))
            self.stdout.write(f"Kept the current model: the new one was worse by more than 0.5 point on: {worse}.")
        else:
            self.stdout.write("Dry run: the current model stays in use.")
