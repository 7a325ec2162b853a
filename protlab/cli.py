"""Command line: `python -m protlab train|predict|features|structure`; a user error: one line, exit 2."""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from protlab.checks import Choice, FloatRange
from protlab.errors import ConfigError, DataFormatError, InvalidSequenceError, ProtlabError
from protlab.files import atomic_write

EXIT_USAGE = 2  # bad input or settings (argparse's own convention)
# training settings named as the options that set them, so a refusal reads "--batch-size must be ..."
TRAIN_OPTIONS = {
    "optimizer": "--optimizer",
    "lr": "--lr",
    "batch_size": "--batch-size",
    "epochs": "--epochs",
    "seed": "--seed",
    "device": "--device",
}


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one 'error: ...' line instead of usage text and a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Report a command-line mistake in one line and exit 2."""
        command = " ".join(self.prog.split()[1:])
        hint = f"python -m protlab {command} --help" if command else "python -m protlab --help"
        raise ConfigError(f"{message} (run `{hint}` for the options).")


def _build_parser() -> argparse.ArgumentParser:
    """The argparse tree of the three commands."""
    parser = _Parser(prog="protlab", description="ProtLab: train and use protein solubility classifiers.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser("train", help="train a classifier on a labelled CSV/FASTA file")
    train.add_argument("data", help="CSV/TSV (sequence and label columns) or labelled FASTA")
    train.add_argument(
        "--model", default="cnn", help="model kind: cnn (the notes' 1D-CNN) or dual (sequence + features)"
    )
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--optimizer", default="adam", help="adam, adamw, sgd or sgd_momentum")
    train.add_argument("--split", default="stratified", help="stratified (the notes) or homology (clustered)")
    train.add_argument(
        "--identity", type=float, default=None, help="homology split: sequence identity, e.g. 0.4"
    )
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--device", default="auto", help="auto, cpu or cuda")
    train.add_argument(
        "--embed-dim", type=int, default=None, help="model embedding width (default: the model's)"
    )
    train.add_argument(
        "--hidden-dim", type=int, default=None, help="model hidden width (default: the model's)"
    )
    train.add_argument("--out", default="model.pt", help="checkpoint to write (default model.pt)")
    train.add_argument("--recipe", default=None, help="train a named recipe (e.g. default) instead")
    predict = commands.add_parser("predict", help="P(soluble) for a sequence or a FASTA/CSV file")
    predict.add_argument("input", help="a protein sequence, or a FASTA/CSV file")
    predict.add_argument("--model", default=None, help="checkpoint file (default: the bundled model)")
    predict.add_argument("--out", default=None, help="CSV to write for file input (default: standard output)")
    predict.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="P(soluble) at or above this is 'soluble' (default: the model's saved threshold, else 0.5)",
    )
    predict.add_argument(
        "--prior",
        type=float,
        default=None,
        help="expected fraction of soluble proteins in your set, above 0 and below 1: P(soluble) and the "
        "call are adjusted to it by Bayes' rule from the model's training share (default: no adjustment)",
    )
    features = commands.add_parser("features", help="the physicochemical features table")
    features.add_argument("input", help="a protein sequence, or a FASTA/CSV file")
    features.add_argument("--out", default=None, help="CSV to write (default: standard output)")
    mutate = commands.add_parser("mutate", help="P(soluble) of every single substitution of one protein")
    mutate.add_argument("input", help="one protein sequence, or a FASTA/CSV file holding one")
    mutate.add_argument("--model", default=None, help="checkpoint file (default: the bundled model)")
    mutate.add_argument("--out", default=None, help="CSV to write (default: standard output)")
    structure = commands.add_parser("structure", help="H/E/C secondary structure per residue")
    structure.add_argument("input", help="a protein sequence, or a FASTA/CSV file")
    structure.add_argument("--model", default=None, help="per-residue checkpoint (default: the bundled one)")
    structure.add_argument("--out", default=None, help="CSV id,sequence,ss3 to write (default: stdout)")
    return parser


def _read_records(text_or_path: str) -> tuple[list, bool]:
    """Cleaned records from a file path the user gave, or from the argument as one sequence;
    (records, is_file).
    """
    from protlab.data import clean_sequence, parse_sequences

    path = Path(text_or_path)
    if not path.is_file():
        if any(sep in text_or_path for sep in ("/", "\\", ".csv", ".fa", ".txt")):
            raise DataFormatError(f"The file {text_or_path!r} does not exist; check the path.")
        return [clean_sequence(text_or_path)], False
    text = path.read_text(encoding="utf-8", errors="replace")
    if text.lstrip().startswith(">") or path.suffix.lower() in (".fa", ".fasta", ".faa", ".txt"):
        return parse_sequences(text), True
    return _csv_records(text, path.name), True


def _csv_records(text: str, name: str) -> list:
    """Cleaned records from a CSV with a 'sequence' column and an optional 'id' column."""
    from protlab.data import clean_sequence

    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as err:
        raise DataFormatError(
            f"{name} is not a readable CSV file ({err}); give a CSV or FASTA file."
        ) from None
    columns = {c.strip().lower(): c for c in table.columns}
    if "sequence" not in columns:
        raise DataFormatError(f"{name} needs a 'sequence' column; its columns are {list(table.columns)}.")
    ids = table[columns["id"]].tolist() if "id" in columns else [f"seq{i + 1}" for i in range(len(table))]
    records = []
    for row, (seq_id, seq) in enumerate(zip(ids, table[columns["sequence"]]), start=2):
        try:
            records.append(dataclasses.replace(clean_sequence(seq), id=str(seq_id)))
        except InvalidSequenceError as err:
            raise InvalidSequenceError(f"{name}, line {row}: {err}") from None
    if not records:
        raise DataFormatError(f"{name} has no sequences; add rows under the 'sequence' header.")
    return records


def _write_csv(table: pd.DataFrame, out: str | None) -> None:
    """Write the table to `out` atomically (temp file + rename), or to standard output."""
    if out is None:
        table.to_csv(sys.stdout, index=False)
        return
    target = Path(out)
    if not target.parent.is_dir():
        raise DataFormatError(
            f"The folder of --out {out!r} does not exist; create it or choose another path."
        )
    atomic_write(target, table.to_csv(index=False))
    print(f"Wrote {len(table)} rows to {target}.", file=sys.stderr)


def _predict(args: argparse.Namespace) -> None:
    """The predict command."""
    from protlab.predict import PRIOR_RULE, Predictor

    if args.threshold is not None:
        FloatRange(0, 1).check(args.threshold, "threshold", label="--threshold")
    if args.prior is not None:
        PRIOR_RULE.check(args.prior, "prior", label="--prior")
    records, is_file = _read_records(args.input)
    predictor = Predictor.from_checkpoint(args.model) if args.model else Predictor.default()
    if args.threshold is None:
        args.threshold = predictor.stored_threshold if predictor.stored_threshold is not None else 0.5
    table = predictor.predict_table(records, threshold=args.threshold, prior=args.prior)
    if not is_file and args.out is None:
        p, call = float(table["p_soluble"].iloc[0]), table["prediction"].iloc[0]
        shift = "" if args.prior is None else f"; adjusted to {args.prior:.1%} soluble from the model's"
        shift += "" if args.prior is None else f" {predictor.training_prior:.1%}"
        print(f"P(soluble) = {p:.3f} -> {call} (threshold {args.threshold:.2f}{shift})")
        return
    extra = ["model_score"] if args.prior is not None else []  # the unadjusted output beside the adjusted
    _write_csv(table[["id", "sequence", "p_soluble", "prediction", *extra]], args.out)


def _mutate(args: argparse.Namespace) -> None:
    """The mutate command: one row per single substitution (1-based positions)."""
    from protlab.mutagenesis import saturation_mutagenesis
    from protlab.predict import Predictor

    records, _ = _read_records(args.input)
    if len(records) != 1:
        raise DataFormatError(f"mutate takes one protein; {args.input} holds {len(records)}. Give one.")
    predictor = Predictor.from_checkpoint(args.model) if args.model else Predictor.default()
    _write_csv(saturation_mutagenesis(predictor, records[0].sequence).frame(), args.out)


def _structure(args: argparse.Namespace) -> None:
    """The structure command: one H/E/C letter per residue."""
    from protlab.structure import StructurePredictor

    records, is_file = _read_records(args.input)
    predictor = StructurePredictor.from_checkpoint(args.model) if args.model else StructurePredictor.default()
    table = predictor.predict_table(records)
    if not is_file and args.out is None:
        print(table["ss3"].iloc[0])
        return
    _write_csv(table, args.out)


def _features(args: argparse.Namespace) -> None:
    """The features command."""
    from protlab.data import features_frame

    records, _ = _read_records(args.input)
    _write_csv(features_frame([r.sequence for r in records], [r.id for r in records]), args.out)


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


def _train(args: argparse.Namespace) -> None:
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
    config.validate(TRAIN_OPTIONS)  # settings are checked before the data is read
    data, report = load_labelled(args.data)
    for line in report.summary_lines():
        print(line)
    if args.recipe:
        _train_recipe(args, data)
        return
    widths = (("embed_dim", args.embed_dim), ("hidden_dim", args.hidden_dim))
    model_config = {k: v for k, v in widths if v is not None}  # 0 is refused by the model, not dropped
    split_params = {"identity": args.identity} if args.identity is not None else {}
    if split_params and args.split != "homology":
        raise ConfigError("--identity only applies to --split homology; remove it or add --split homology.")
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
    result = train_model(
        prepared.model, prepared.sets["train"], prepared.sets["val"], config, callback=_epoch_line
    )
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


def _train_recipe(args: argparse.Namespace, data: object) -> None:
    """Train a named recipe from protlab.recipes (if this installation has it)."""
    try:
        from protlab.recipes import RECIPES, train_recipe
    except ImportError:
        raise ConfigError(
            "Recipes are not available in this installation (protlab/recipes.py is missing); "
            "train without --recipe."
        ) from None
    Choice(sorted(RECIPES)).check(args.recipe, "recipe", label="--recipe")
    train_recipe(args.recipe, data, args.out, progress=lambda line: print(line, flush=True))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 2 user error, 130 interrupted)."""
    try:
        args = _build_parser().parse_args(argv)
        commands = {"train": _train, "predict": _predict, "features": _features, "structure": _structure}
        commands["mutate"] = _mutate
        commands[args.command](args)
    except ProtlabError as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(
            f"error: {err.strerror or err} ({err.filename or 'file'}); check the path and permissions.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    return 0
