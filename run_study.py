#!/usr/bin/env python
"""plateau: hyperparameter search and training diagnostics for classifiers whose accuracy plateaus.

    python run_study.py                              # the default study, studies/demo.yaml
    python run_study.py run studies/NAME.yaml [options]
    python run_study.py diagnose LOG [--predictions CSV] [--study-file YAML] [--json]
                                 [--report OUT.html]
    python run_study.py diagnose --storage URL --study NAME [--trial N] [--json] [--report OUT.html]
                                 [--update-dashboard]
    python run_study.py dashboard [--storage URL] [--host 127.0.0.1] [--port 8080]
    python run_study.py table --storage URL --study NAME [--csv OUT.csv]
    python run_study.py fix --storage URL --study NAME [--trial N] [--budget-trials K | --timeout S]
    python run_study.py fix LOG --study-file YAML [--storage URL] [--budget-trials K | --timeout S]
    python run_study.py check STUDY.yaml [--data-root DIR]
    python run_study.py lr-find STUDY.yaml [--data-root DIR] [--out OUT.html]
    python run_study.py ensemble --storage URL --study NAME [--top-k K]

Bad input (a study file, a data folder, a storage URL) gets one line on stderr and exit code 2,
before anything is stored.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, NoReturn, Sequence

from search.overrides import OVERRIDES, flag, positive_float, positive_int
from search.record.errors import PlateauError
from search.record.storage import StorageUrl, storage_failure

if TYPE_CHECKING:
    from search.config import StudyConfig
    from search.study import Hooks

DEFAULT_STUDY = Path(__file__).resolve().parent / "studies" / "demo.yaml"


class UsageError(Exception):
    """Options that do not go together: reported like argparse's own usage errors."""


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (the convention of every plateau error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def port_number(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number in [1, 65535]. Got {text} instead")
    return value


def device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=["cuda", "mps", "cpu"],
                        help="device (default: cuda, else mps, else cpu)")


def data_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", type=Path, metavar="DIR",
                        help="the dataset's folder, as unpacked (overrides data.root)")


def build_parser() -> Parser:
    parser = Parser(prog="run_study.py", description=__doc__.split("\n\n")[0],
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    epilog="With no command, runs: run studies/demo.yaml")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    run = commands.add_parser(
        "run", help="run (or continue) an Optuna study described by a YAML study file",
        description="Run an Optuna study whose trials are PyTorch training runs. Every epoch of "
                    "every trial is stored with the trial in the Optuna storage. Options override "
                    "the study file; running again with the same storage and study name continues "
                    "the study.")
    run.add_argument("study_file", nargs="?", type=Path, default=DEFAULT_STUDY,
                     help="a study file (default: studies/demo.yaml)")
    run.add_argument("--n-trials", type=positive_int, metavar="N",
                     help="run N trials now; without it, run until the study has budget.n_trials "
                          "trials in all (finished ones count, so the same command again resumes "
                          "a study that was stopped)")
    for option, override in OVERRIDES.items():
        run.add_argument(flag(option), dest=option, type=override.parse, metavar=override.metavar,
                         help=f"{override.help} ({override.where})")
    device_option(run)
    run.add_argument("--workers", type=positive_int, default=1, metavar="N",
                     help="N processes sharing the study on this machine: one per GPU when there "
                          "are GPUs, else the CPU cores split between them (default storage then: "
                          "the journal file plateau.journal). For several machines, run the same "
                          "command on each with one --storage postgresql://...")
    run.add_argument("--worker", help=argparse.SUPPRESS)  # "I/N": set for its workers by --workers
    run.add_argument("--skip-checks", action="store_true",
                     help="start without the preflight checks (see the check command)")
    run.set_defaults(handler=cmd_run)

    fix = commands.add_parser(
        "fix", help="try the diagnosis's fixes in a new study and say whether they lifted the "
                    "plateau (exit 0: beyond the baseline's noise, 1: not)",
        description="Diagnose a baseline (a study's best trial, another trial, or a LOG with the "
                    "study file that reproduces it), then run a new study, NAME-fix: the baseline "
                    "re-run with other seeds (its noise), one trial per fix, then the sampler in "
                    "the changed space. Prints before and after, which fix made the difference "
                    "and whether the label is gone; exit 0 when the gain beats the noise, 1 when "
                    "not, 2 on bad input.")
    fix.add_argument("log", nargs="?", type=Path, metavar="LOG",
                     help="a Keras CSV, Lightning metrics.csv or TensorBoard log (with --study-file)")
    fix.add_argument("--study-file", type=Path, metavar="YAML",
                     help="with a LOG: the study file that reproduces the logged run")
    fix.add_argument("--storage", metavar="URL", help="an Optuna storage (with --study; with a LOG: "
                                                     "where the fix study goes)")
    fix.add_argument("--study", metavar="NAME", help="the baseline's study")
    fix.add_argument("--trial", type=int, metavar="N", help="the baseline trial (default: the best)")
    limit = fix.add_mutually_exclusive_group()
    limit.add_argument("--budget-trials", type=positive_int, metavar="K",
                       help="trials in the fix study (default: the enqueued ones + 4 sampled)")
    limit.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                       help="stop starting trials after this long (the enqueued ones run first)")
    device_option(fix)
    fix.add_argument("--skip-checks", action="store_true",
                     help="start the fix study without the preflight checks")
    fix.set_defaults(handler=cmd_fix)

    check = commands.add_parser(
        "check", help="preflight checks of a study's model and data, in seconds",
        description="Check a study's setup on its real model and data before hours of search: "
                    "the head's size, labels, the initial loss, input scaling, overfitting one "
                    "batch, gradients, class balance. `run` does this first (--skip-checks "
                    "bypasses it). Exit 2, one line per failed check, when one fails.")
    check.add_argument("study_file", type=Path, help="a study file")
    data_root_option(check)
    device_option(check)
    check.set_defaults(handler=cmd_check)

    lr_find = commands.add_parser(
        "lr-find", help="learning-rate range test (Smith 2017): a suggested learning rate",
        description="Train the study's model for one sweep of exponentially growing learning "
                    "rates, smooth the loss, stop once it exceeds 4x its minimum; print the "
                    "suggested rate and interval and write the loss-vs-lr curve as HTML.")
    lr_find.add_argument("study_file", type=Path, help="a study file")
    data_root_option(lr_find)
    lr_find.add_argument("--out", type=Path, metavar="OUT.html",
                         help="where to write the plot (default: lr-find-<study>.html)")
    device_option(lr_find)
    lr_find.set_defaults(handler=cmd_lr_find)

    ensemble = commands.add_parser(
        "ensemble", help="combine the best trials' kept weights: majority vote and averaged "
                         "probabilities",
        description="Load the best-epoch weights the study kept for its top-K trials, combine "
                    "their predictions on the validation and test splits, and report each "
                    "member's score, the ensemble's and the gain (also written into the study "
                    "note).")
    ensemble.add_argument("--storage", metavar="URL", required=True, help="an Optuna storage")
    ensemble.add_argument("--study", metavar="NAME", required=True, help="the study")
    ensemble.add_argument("--top-k", type=positive_int, default=3, metavar="K",
                          help="how many of the best trials (default 3)")
    device_option(ensemble)
    ensemble.set_defaults(handler=cmd_ensemble)

    diagnose = commands.add_parser(
        "diagnose", help="say why a run plateaued (overfit, underfit, imbalanced, diverged or "
                         "healthy) and what to try next",
        description="Diagnose a training log (Keras CSVLogger, Lightning metrics.csv, TensorBoard "
                    "event folder) or the trials of a study in an Optuna storage: labels, the "
                    "numbers behind them, and fixes as changes to the study file.")
    diagnose.add_argument("log", nargs="?", type=Path, metavar="LOG",
                          help="a Keras CSV, a Lightning metrics.csv (or its folder), or a "
                               "TensorBoard log folder")
    diagnose.add_argument("--predictions", type=Path, metavar="CSV",
                          help="validation predictions, columns y_true,y_pred (class ids or names): "
                               "needed to judge class imbalance from a log")
    diagnose.add_argument("--study-file", type=Path, metavar="YAML",
                          help="with a LOG: the study file to try the fixes in; prints it with "
                               "them applied, and the command that runs it")
    diagnose.add_argument("--storage", metavar="URL", help="an Optuna storage, as for run")
    diagnose.add_argument("--study", metavar="NAME", help="the study to diagnose (with --storage)")
    diagnose.add_argument("--trial", type=int, metavar="N", help="one trial's number")
    diagnose.add_argument("--json", action="store_true",
                          help="print exactly one JSON object instead of text")
    diagnose.add_argument("--report", type=Path, metavar="OUT.html",
                          help="also write a self-contained HTML report (plotly, works offline)")
    diagnose.add_argument("--update-dashboard", action="store_true",
                          help="with --storage and --study: write the trial notes, the study note "
                               "and the study figures that optuna-dashboard shows")
    diagnose.set_defaults(handler=cmd_diagnose)

    dashboard = commands.add_parser(
        "dashboard", help="start optuna-dashboard on a study storage, with its artifact store",
        description="Start optuna-dashboard on the storage, with the artifact store where plateau "
                    "keeps each trial's history CSV; prints the URL. Ctrl-C stops it.")
    dashboard.add_argument("--storage", metavar="URL", default="sqlite:///plateau.db",
                           help="an Optuna storage, as for run (default: sqlite:///plateau.db)")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1: this machine only)")
    dashboard.add_argument("--port", type=port_number, default=8080, help="default 8080")
    dashboard.add_argument("--artifact-dir", type=Path, metavar="DIR",
                           help="the artifact store (default: the one the study's runs used)")
    dashboard.set_defaults(handler=cmd_dashboard)

    table = commands.add_parser(
        "table", help="the ablation table of a study: one row per trial",
        description="One row per trial: architecture knobs, train loss, val loss, val accuracy, "
                    "macro-F1 (at the best epoch), parameter counts (CNN and attention apart when "
                    "the model has both) and the diagnosis; markdown, or CSV with --csv.")
    table.add_argument("--storage", metavar="URL", required=True, help="an Optuna storage")
    table.add_argument("--study", metavar="NAME", required=True, help="the study")
    table.add_argument("--csv", type=Path, metavar="OUT.csv", help="write CSV there instead")
    table.set_defaults(handler=cmd_table)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here so that --help answers at once, without loading torch.
    from search import study as study_runner
    from search.config import load_study_config
    from search.interrupts import Interrupts
    from search.progress import make_progress

    config = load_study_config(args.study_file, {o: getattr(args, o) for o in OVERRIDES},
                               parallel=args.workers > 1 or args.worker is not None)
    args.resolved_storage = config.storage.url  # named if the storage fails during the run
    if args.workers > 1:
        return run_workers(args, config)
    device = worker_device(args.device)
    progress = make_progress(args.n_trials, worker=args.worker)
    with Interrupts() as interrupts:
        run = study_runner.run(config, progress, device, diagnosing_hooks(config, args.worker),
                               args.n_trials, interrupts, checks=not args.skip_checks)
    if args.worker is not None:  # the launching process reports on the study once
        return interrupts.exit_code
    return report(run, config, interrupts.received)


def report(run, config: StudyConfig, received: str | None) -> int:
    """Print the study's summary; the exit code: 128 + the signal that stopped the run, 1 when
    every trial it ran failed (not bad input: the runs themselves failed), else 0."""
    from search.summary import nothing_succeeded, study_summary

    print(study_summary(run, config.storage))
    if received:
        print(f"run_study.py: stopped by {received}; the same command continues the study, and "
              f"the interrupted trial from its last epoch.", file=sys.stderr)
        return 128 + int(signal.Signals[received])
    failure = nothing_succeeded(run)
    if failure is not None:
        print(f"run_study.py: error: {failure}", file=sys.stderr)
        return 1
    return 0


def worker_device(name: str | None):
    """The training device; a worker started by --workers first takes its share of the cores."""
    import torch

    from search.device import pick_device
    from search.workers import threads_from_environment

    threads = threads_from_environment()
    if threads is not None:
        torch.set_num_threads(threads)
    return pick_device(name)


def run_workers(args: argparse.Namespace, config: StudyConfig) -> int:
    """--workers N: create (or continue) the study once, start N workers, report once."""
    import functools

    import torch

    from search import study as study_runner
    from search import workers
    from search.lr_find import resolve_auto_lr
    from search.preflight import preflight
    from search.resume import requeue_interrupted

    splits = functools.cache(lambda: study_runner.load_splits(config))  # read once, if at all
    device, said = worker_device(args.device), []
    if not args.skip_checks:  # once, here: the workers start with --skip-checks
        preflight(config, splits(), device, said.append)
    study = study_runner.create_or_continue(config)  # tables created once, before any worker
    for line in said:  # after the storage opened, as `run` shows them
        print(line, file=sys.stderr)
    requeue_interrupted(study)
    resolve_auto_lr(config, study, splits, device,  # lr: auto, found once here: workers read it
                    lambda line: print(line, file=sys.stderr))
    gpus = torch.cuda.device_count() if args.device in (None, "cuda") else 0
    n = args.workers if args.n_trials is None else min(args.workers, args.n_trials)
    options = [part for option in OVERRIDES if getattr(args, option) is not None
               for part in (flag(option), str(getattr(args, option)))]
    base = [sys.executable, __file__, "run", str(args.study_file), *options, "--storage",
            config.storage.url, "--artifact-dir", str(config.artifact_dir),
            *(["--device", args.device] if args.device else []), "--skip-checks"]
    started = workers.start(workers.commands(base, n, args.n_trials),
                            [workers.placement(i, n, gpus, os.cpu_count() or 1) for i in range(n)])
    received = workers.supervise(started)
    run = study_runner.read_back(study, {f"{socket.gethostname()}:{w.process.pid}"
                                         for w in started})
    diagnosing_hooks(config).study_ended(study, run.records)
    for worker in started:
        if worker.ended_by and not received:
            print(f"run_study.py: worker {worker.index} (pid {worker.process.pid}) was killed by "
                  f"{worker.ended_by}; the others ran its trial again.", file=sys.stderr)
    return report(run, config, received)


def diagnosing_hooks(config: StudyConfig, worker: str | None = None) -> Hooks:
    """Where the command line joins the two sides: each trial is diagnosed as it ends (the diagnosis
    is stored with its record) and published for optuna-dashboard (its note and history CSV); when
    the run ends, the study note and figures (by the launching process, not by each worker)."""
    import dataclasses

    from diagnose.dashboard.publish import publish_study, publish_trial
    from diagnose.diagnosis import RunContext, diagnose, diagnosed
    from diagnose.pruned import Pruned
    from search.study import Hooks

    def trial_ended(trial, record):
        others = [t for t in trial.study.get_trials(deepcopy=False) if t.number != trial.number]
        epoch, pruned = record.pruned_epoch, None
        if epoch is not None and record.objective is not None:  # beside the others at that epoch
            peers = tuple(t.intermediate_values[epoch] for t in others
                          if epoch in t.intermediate_values)
            pruned = Pruned(epoch, record.objective, record.direction != "minimize", peers)
        # what the study's other trials fitted, from the ends their records published
        reached = max((t.user_attrs[key] for t in others
                       for key in ("final_train_accuracy", "final_val_accuracy")
                       if isinstance(t.user_attrs.get(key), (int, float))), default=None)
        context = dataclasses.replace(RunContext.of(record, pruned, config.raw), reached=reached)
        record = dataclasses.replace(record, diagnosis=diagnose(record.history, context))
        publish_trial(trial, record, config.artifact_dir)
        return record

    def study_ended(study, records):
        if worker is None:
            publish_study(study, diagnosed(records, config.raw), config.storage)

    return Hooks(trial_ended, study_ended)


def cmd_diagnose(args: argparse.Namespace) -> int:
    from diagnose import command

    if args.log is not None:
        if args.storage or args.study or args.trial is not None:
            raise UsageError("give either a LOG or --storage with --study, not both")
        return command.run_log(args.log, args.predictions, args.json, args.report,
                               study_file=args.study_file)
    if not (args.storage and args.study):
        raise UsageError("give a LOG file or folder, or --storage URL --study NAME")
    if args.predictions is not None:
        raise UsageError("--predictions goes with a LOG; a plateau trial stores its per-class "
                         "results itself")
    if args.study_file is not None:
        raise UsageError("--study-file goes with a LOG; a plateau study stores its study file "
                         "itself")
    if args.update_dashboard and args.trial is not None:
        raise UsageError("--update-dashboard writes the whole study's notes and figures; leave out "
                         "--trial")
    return command.run_study(StorageUrl.parse(args.storage), args.study, args.trial, args.json,
                             args.report, update_dashboard=args.update_dashboard)


def cmd_fix(args: argparse.Namespace) -> int:
    """Diagnose the baseline, plan the fix study (``diagnose.lift_plan``), validate it fix by fix,
    run it, judge it (``diagnose.lift``), print and publish the before/after."""
    import dataclasses

    import optuna
    import yaml

    from diagnose import lift, lift_plan
    from search import study as study_runner
    from search.config import load_study_config
    from search.interrupts import Interrupts
    from search.progress import make_progress

    base = fix_baseline(args)
    fixes = lift_plan.direct_fixes(base.diagnosis)
    if not fixes:
        print(f"{base.name} is diagnosed {base.diagnosis.label_text}: no fix of the table changes "
              f"its study file, so there is nothing to try.")
        return 1
    name = free_study_name(base.storage, f"{base.study}-fix")
    folder = base.storage.artifact_dir(base.config.get("study", {}).get("artifact_dir")) / "fix"
    fixes, left_out = valid_fixes(base, fixes, name, folder)
    if not fixes:
        print(f"{base.name} is diagnosed {base.diagnosis.label_text}, but no fix of it gives a study "
              f"file that loads: {'; '.join(left_out)}")
        return 1
    planned = lift_plan.plan(base.config, name, fixes, base.hparams, base.seed, None, left_out)
    n_trials = None if args.timeout else args.budget_trials or (
        len(planned.trials) + lift_plan.SEARCH_TRIALS)
    if n_trials is not None and n_trials <= lift_plan.BASELINE_RUNS:
        raise UsageError(f"--budget-trials must be at least {lift_plan.BASELINE_RUNS + 1}: the "
                         f"baseline's {lift_plan.BASELINE_RUNS} re-runs and a fix. Got {n_trials} "
                         f"instead")
    enqueued = planned.trials[:n_trials]  # the fixes in the diagnosis's order, while budget lasts
    over = [f"{t.role} (over the budget)" for t in planned.trials[len(enqueued):]]
    path = folder / f"{name}.yaml"
    budget = {**planned.study_file["budget"], "n_trials": n_trials,
              **({"timeout": args.timeout} if args.timeout else {})}
    path.write_text(yaml.safe_dump({**planned.study_file, "budget": budget}, sort_keys=False),
                    encoding="utf-8")
    config = load_study_config(path, {"storage": base.storage.url})
    print(f"fix of {base.name} ({base.diagnosis.label_text}): study '{name}' with "
          f"{', '.join(t.role for t in enqueued[lift_plan.BASELINE_RUNS:])}"
          + (f"; left out: {'; '.join([*planned.left_out, *over])}"
             if planned.left_out or over else "") + f"; study file {path}")

    def enqueue(study) -> None:  # once the preflight checks passed and the study exists
        for trial in enqueued:
            study.enqueue_trial(dict(trial.params), user_attrs=dict(trial.user_attrs))

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the lines above say it all
    hooks = dataclasses.replace(diagnosing_hooks(config), study_started=enqueue)
    with Interrupts() as interrupts:
        run = study_runner.run(config, make_progress(n_trials), worker_device(args.device), hooks,
                               None, interrupts, checks=not args.skip_checks)
    if interrupts.received:
        return report(run, config, interrupts.received)
    return fix_verdict(run, base, config, lift, planned)


@dataclass(frozen=True)
class Baseline:
    """The run ``fix`` starts from: a stored trial, or a log with the study file reproducing it."""

    name: str  # "trial #13 of study 'demo'", or the log's path
    study: str  # the fix study is named after it
    storage: StorageUrl  # where the fix study goes
    config: Mapping[str, Any]  # the study file's content the fixes change
    diagnosis: Any  # its Diagnosis, fixes tailored to ``config``
    hparams: Mapping[str, Any]  # every hyperparameter it trained with
    original: float | None  # its objective where it ran
    seed: int  # the fix study's seed: trial k trains with seed + k, seeds the baseline never used


def fix_baseline(args: argparse.Namespace) -> Baseline:
    """The baseline of ``fix``: ``--storage/--study [--trial]`` or ``LOG --study-file``."""
    from diagnose.diagnosis import diagnosed
    from diagnose.loaders.storage import load_study
    from search.record.trial import ranked

    if args.log is not None:
        if args.study or args.trial is not None or args.study_file is None:
            raise UsageError("give a LOG with --study-file YAML (the study file that reproduces "
                             "its run), or --storage URL --study NAME [--trial N]")
        return log_baseline(args)
    if not (args.storage and args.study) or args.study_file is not None:
        raise UsageError("give --storage URL --study NAME [--trial N], or a LOG with --study-file")
    storage = StorageUrl.parse(args.storage)
    stored = load_study(storage, args.study)
    config = stored.study.user_attrs.get("config")
    if not isinstance(config, dict):
        raise PlateauError(f"storage '{storage.url}': study '{args.study}' was not run by plateau "
                           f"(it stores no study file); fix a plateau study, or a LOG with "
                           f"--study-file.")
    records = diagnosed(stored.records, config)
    maximize = stored.study.direction.name != "MINIMIZE"
    chosen = ([r for r in records if r.number == args.trial] if args.trial is not None
              else ranked(records, maximize)[:1])
    if not chosen or chosen[0].value is None or not chosen[0].hparams:
        which = f"trial {args.trial}" if args.trial is not None else "a completed trial"
        raise PlateauError(f"storage '{storage.url}': study '{args.study}' has no {which} with a "
                           f"value to fix; give --trial N of a finished plateau trial.")
    record = chosen[0]
    seed = int((config.get("study") or {}).get("seed", 0)) + len(records)
    return Baseline(f"trial #{record.number} of study '{args.study}'", args.study, storage,
                    config, record.diagnosis, record.hparams, record.value, seed)


def log_baseline(args: argparse.Namespace) -> Baseline:
    """A log's baseline: its diagnosis tailored to the study file, and the study file's settings
    (a fixed value, the first choice, a range's middle: ``lift_plan.representative``)."""
    import math

    from optuna.trial import FixedTrial

    from diagnose.command import diagnose_log, read_study_file
    from diagnose.lift_plan import representative
    from search.config import load_study_config

    study_file = read_study_file(args.study_file)
    config = load_study_config(args.study_file)
    history, diagnosis = diagnose_log(args.log, None, study_file.raw)
    raw_models = study_file.raw.get("models") or {}
    arch = representative(study_file.raw["space"]["architecture"])
    params = {**{k: representative(v) for k, v in study_file.raw["space"].items()},
              **{f"{arch}.{k}": representative(v) for k, v in raw_models.get(arch, {}).items()}}
    hparams = config.space.sample(FixedTrial(params)).to_json()
    column = [v for v in history.column(config.objective) if v is not None and math.isfinite(v)]
    original = (max(column) if config.direction == "maximize" else min(column)) if column else None
    storage = StorageUrl.parse(args.storage) if args.storage else config.storage
    return Baseline(f"{args.log}", config.name, storage, study_file.raw, diagnosis, hparams,
                    original, config.seed)


def free_study_name(storage: StorageUrl, name: str) -> str:
    """``name``, or ``name-2``, ``name-3``, ... : the first no study in ``storage`` has (each
    ``fix`` is a new study, whatever ran before)."""
    import optuna

    taken = set(optuna.study.get_all_study_names(storage.open()))
    return next(n for n in (name, *(f"{name}-{k}" for k in range(2, 10_000))) if n not in taken)


def valid_fixes(base: Baseline, fixes, name: str, folder: Path) -> tuple[list, list[str]]:
    """The fixes whose study file validates alone (e.g. a video backbone offered to an image study
    does not), and a line on each one left out."""
    import tempfile

    import yaml

    from diagnose.lift_plan import fix_study_file
    from search.config import load_study_config
    from search.record.errors import ConfigError

    folder.mkdir(parents=True, exist_ok=True)
    kept, left_out = [], []
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        for fix in fixes:
            path = Path(scratch) / f"{name}.yaml"
            path.write_text(yaml.safe_dump(fix_study_file(base.config, name, [fix], base.seed, 1)),
                            encoding="utf-8")
            try:
                load_study_config(path, {"storage": base.storage.url})
                kept.append(fix)
            except ConfigError as exc:
                left_out.append(f"{fix.name} ({str(exc).split(': ', 1)[-1]})")
    return kept, left_out


def fix_verdict(run, base: Baseline, config: StudyConfig, lift, planned) -> int:
    """Judge the fix study, print the before/after, keep it in the study's note; the exit code."""
    from diagnose.dashboard.publish import LIFT, LIFT_NOTE, publish_study
    from diagnose.diagnosis import diagnosed
    from diagnose.lift_plan import ROLE

    records = diagnosed(run.records, config.raw)
    roles = {t.number: t.user_attrs.get(ROLE) for t in run.study.get_trials(deepcopy=False)}
    judged = lift.judge(records, roles, base.hparams, base.original, base.diagnosis.verdicts,
                        config.objective, config.direction == "maximize")
    print("\n".join(lift.lines(judged, base.name, planned.name, roles, records)))
    run.study.set_user_attr(LIFT_NOTE, lift.markdown(judged, base.name, planned.name, roles,
                                                     records))
    run.study.set_user_attr(LIFT, judged.to_json())
    publish_study(run.study, records, config.storage)
    return lift.exit_code(judged)


def cmd_check(args: argparse.Namespace) -> int:
    """One line per check; a failure raises PreflightError (exit 2, the failures on stderr)."""
    from search.config import load_study_config
    from search.preflight import failures_error, run_checks
    from search.study import load_splits

    config = load_study_config(args.study_file, {"data_root": args.data_root})
    results = run_checks(config, load_splits(config), worker_device(args.device))
    for result in results:
        if result.passed or result.warning:
            print(result.line())
    error = failures_error(results)
    if error is not None:
        raise error
    return 0


def cmd_lr_find(args: argparse.Namespace) -> int:
    from search.config import load_study_config
    from search.device import pick_device
    from search.lr_find import lr_find
    from search.lr_plot import check_folder, write_plot
    from search.study import load_splits

    config = load_study_config(args.study_file, {"data_root": args.data_root})
    out = args.out or Path(f"lr-find-{config.name}.html")
    check_folder(out)
    found = lr_find(config, load_splits(config), pick_device(args.device))
    write_plot(found, out, f"LR range test: study '{config.name}' ({config.source})")
    print("\n".join([*found.lines(), f"plot: {out}"]))
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from search.device import pick_device
    from search.ensemble import ensemble_study

    print(ensemble_study(StorageUrl.parse(args.storage), args.study, args.top_k,
                         pick_device(args.device)))
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from diagnose.dashboard.server import serve

    return serve(StorageUrl.parse(args.storage), args.host, args.port, args.artifact_dir)


def cmd_table(args: argparse.Namespace) -> int:
    from diagnose import table
    from diagnose.diagnosis import diagnosed
    from diagnose.loaders.storage import load_study

    frame = table.ablation_frame(diagnosed(load_study(StorageUrl.parse(args.storage),
                                                      args.study).records))
    if args.csv is not None:
        table.write_csv(frame, args.csv)
        print(f"{len(frame)} trials written to {args.csv}")
    else:
        print(table.markdown(frame))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv or ["run"])
    if args.command is None:  # options but no command
        parser.error("choose a command: run, diagnose, fix, check, lr-find, ensemble, "
                     "dashboard or table")
    try:
        return args.handler(args)
    except UsageError as exc:
        parser.error(f"{args.command}: {exc}")
    except PlateauError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `| head`: the reader has gone; stop quietly (Python docs' advice)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the storage failing mid-command is one line too; a bug is not
        failure = storage_failure(exc, getattr(args, "storage", None) or getattr(
            args, "resolved_storage", None))
        if failure is None:
            raise
        print(f"{parser.prog}: error: {failure}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; finished trials are kept in the storage, and running "
              f"the same command again continues the study.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
