"""The `train` command of `python -m protlab`: options checked before any work, the loading report with
every dropped row, one line per epoch, and the checkpoint (the best weights, also after a divergence)."""

from __future__ import annotations

import argparse
from pathlib import Path

from protlab.checks import Choice, FloatRange
from protlab.errors import ConfigError, TrainingDivergedError
from protlab.files import atomic_write

SHOWN_ROWS = 20  # dropped rows listed on the terminal; the rest are counted (all of them: --dropped FILE)
# training settings named as the options that set them, so a refusal reads "--batch-size must be ..."
TRAIN_OPTIONS = {
    "optimizer": "--optimizer",
    "lr": "--lr",
    "batch_size": "--batch-size",
    "epochs": "--epochs",
    "seed": "--seed",
    "device": "--device",
}


def _duration(seconds: float) -> str:
    """Seconds as '1m05s'."""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


def _epoch_line(event: object) -> None:
    """Print one line per finished epoch."""
    from protlab.training import EpochEvent

    if isinstance(event, EpochEvent):
        mark = " *" if event.is_best else ""
        print(
            f"epoch {event.epoch:3d}/{event.epochs}  train loss {event.train_loss:.4f}  "
            f"val loss {event.val_loss:.4f}  val AUC {event.val_metrics.get('auc', float('nan')):.3f}  "
            f"lr {event.lr:.1e}  {event.seqs_per_sec:,.0f} seq/s  ETA {_duration(event.eta_seconds)}{mark}",
            flush=True,
        )


def train_command(args: argparse.Namespace) -> None:
    """The train command; under torchrun every process runs it, rank 0 alone prints and saves."""
    from protlab.training import distributed_session

    with distributed_session(args.device) as distributed:
        if distributed and args.recipe:
            raise ConfigError(
                "--recipe trains in a single process; run it with `python -m protlab train` "
                "instead of torchrun."
            )
        _train_run(args)


def _train_run(args: argparse.Namespace) -> None:
    """Load, split, train and (on rank 0) evaluate and save one model."""
    from protlab.data import load_labelled
    from protlab.runs import RunSpec, evaluate_and_save, prepare_run
    from protlab.training import TrainConfig, is_main, train_model

    config = TrainConfig(
        optimizer=args.optimizer,
        lr=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
    )
    config.validate(TRAIN_OPTIONS)  # settings and output paths are checked before the data is read
    model_config, split_params = _train_options(args)
    data, report = load_labelled(args.data, label_cutoff=args.label_cutoff)
    _print_report(report, args.dropped)
    if args.recipe:
        _train_recipe(args, data)
        return
    spec = RunSpec(
        name=Path(args.out).stem,
        data=data,
        data_description=args.data,
        split_method=args.split,
        split_params=split_params,
        model_kind=args.model,
        model_config=model_config,
        train_config=config,
    )
    spec.validate()
    prepared = prepare_run(spec)
    split = prepared.split
    print(
        f"Split ({split.method}): {len(split.train)} train, {len(split.val)} validation, "
        f"{len(split.test)} test."
    )
    try:
        result = train_model(
            prepared.model, prepared.sets["train"], prepared.sets["val"], config, callback=_epoch_line
        )
    except TrainingDivergedError as err:
        result = getattr(err, "partial_result", None)
        if result is None or result.best_state is None or not is_main():
            raise
        saved = evaluate_and_save(prepared, result, spec, Path(args.out))  # the best weights are kept
        raise TrainingDivergedError(
            f"{err} The best weights (epoch {result.best_epoch}, validation loss "
            f"{result.best_val_loss:.4f}) were saved to {saved['checkpoint']}."
        ) from None
    if not is_main():
        return  # rank 0 alone scores the test split and writes the checkpoint
    saved = evaluate_and_save(prepared, result, spec, Path(args.out))
    print(f"Best epoch {result.best_epoch} ({result.stopped_reason}, {_duration(result.seconds)}).")
    for title, metrics in (("Test", saved["test_metrics"]), ("Majority baseline", saved["baseline"])):
        print(
            f"{title}: "
            + ", ".join(
                f"{k} {metrics[k]:.3f}" for k in ("accuracy", "precision", "recall", "f1", "auc", "mcc")
            )
        )
    print(f"Saved {saved['checkpoint']}.")


TRAINED_ELSEWHERE = {  # model kinds `protlab train --model` does not build, and how to train them instead
    "ensemble": "an ensemble averages trained members; --recipe default trains the bundled model's",
    "residue_cnn": "it predicts per residue; train it on the app's Per-residue page",
    "residue_mlp": "it predicts per residue; train it on the app's Per-residue page",
}


def cli_kinds() -> list[str]:
    """The model kinds `protlab train --model` trains: every whole-protein kind that needs no members."""
    from protlab.models import available_kinds

    return [kind for kind in available_kinds() if kind not in TRAINED_ELSEWHERE]


def _train_options(args: argparse.Namespace) -> tuple[dict, dict]:
    """Check every model, split and path option before any work; returns (model_config, split_params)."""
    from protlab.checks import field_rules
    from protlab.data import check_output
    from protlab.models import make_config

    check_output(args.out, [args.data], "--out", example="model.pt")
    if args.dropped is not None:
        check_output(args.dropped, [args.data, args.out], "--dropped")
    if args.recipe:
        return {}, {}
    if args.model in TRAINED_ELSEWHERE:
        raise ConfigError(f"--model {args.model} is not trained here: {TRAINED_ELSEWHERE[args.model]}.")
    Choice(cli_kinds()).check(args.model, "model", label="--model")
    Choice(("stratified", "homology")).check(args.split, "split", label="--split")
    rules = field_rules(make_config(args.model))
    model_config = {}
    for field, option in (("embed_dim", "--embed-dim"), ("hidden_dim", "--hidden-dim")):
        value = getattr(args, field)
        if value is None:
            continue
        if field not in rules:
            raise ConfigError(f"{option} does not apply to --model {args.model}; remove it.")
        model_config[field] = rules[field].check(value, field, label=option)
    if args.identity is None:
        return model_config, {}
    if args.split != "homology":
        raise ConfigError("--identity only applies to --split homology; remove it or add --split homology.")
    FloatRange(0.2, 1.0, note="a fraction, e.g. 0.4 for 40%").check(args.identity, "identity", "--identity")
    return model_config, {"identity": args.identity}


def _print_report(report, dropped_path: str | None) -> None:  # report: protlab.data.ValidationReport
    """The loading report, then each dropped row with its reason (the first SHOWN_ROWS; all to --dropped)."""
    for line in report.summary_lines():
        print(line)
    for line in report.dropped_lines(SHOWN_ROWS):
        print(f"  {line}")
    if dropped_path is None and len(report.dropped) > SHOWN_ROWS:
        print("  (--dropped FILE writes every dropped row with its reason.)")
    if dropped_path is not None:
        atomic_write(dropped_path, report.dropped.to_csv(index=False))
        print(f"Wrote the {len(report.dropped):,} dropped rows to {dropped_path}.")


def _train_recipe(args: argparse.Namespace, data: object) -> None:
    """Train a named recipe from protlab.recipes (if this installation has it)."""
    try:
        from protlab.recipe_book import RECIPES
        from protlab.recipes import train_recipe
    except ImportError:
        raise ConfigError(
            "Recipes are not available in this installation (protlab/recipes.py is missing); "
            "train without --recipe."
        ) from None
    Choice(sorted(RECIPES)).check(args.recipe, "recipe", label="--recipe")
    train_recipe(args.recipe, data, args.out, progress=lambda line: print(line, flush=True))
