"""Command line: `python -m protlab train|predict|features|structure`; a user error: one line, exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from protlab.checks import FloatRange
from protlab.cli_train import train_command
from protlab.errors import (
    ConfigError,
    DataFormatError,
    ProtlabError,
)
from protlab.files import atomic_write

EXIT_USAGE = 2  # bad input or settings (argparse's own convention)
SHOWN_ROWS = 20  # dropped or left-out rows listed on the terminal; the rest are counted (train: --dropped)
CHUNK = 1_000  # proteins per step of file work, with a progress line on stderr after each


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one 'error: ...' line instead of usage text and a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Report a command-line mistake in one line and exit 2."""
        command = " ".join(self.prog.split()[1:])
        hint = f"python -m protlab {command} --help" if command else "python -m protlab --help"
        raise ConfigError(f"{message} (run `{hint}` for the options).")


def _add_input(parser: argparse.ArgumentParser, what: str) -> None:
    """The input of a command: a file (or a sequence in capital letters), or --sequence TEXT."""
    parser.add_argument(
        "input",
        nargs="?",
        default=None,
        help=f"{what}: a FASTA, CSV/TSV or text file. An argument that exists, or has a / or a file "
        "extension (.fasta, .fa, .csv, .txt, ...), is a file, and a missing one is an error; otherwise it "
        "is one sequence, which must be written in capital letters (use --sequence for any other text)",
    )
    parser.add_argument(
        "--sequence", default=None, help="a protein sequence as text (any case; a FASTA header is allowed)"
    )


def _build_parser() -> argparse.ArgumentParser:
    """The argparse tree of the three commands."""
    parser = _Parser(prog="protlab", description="ProtLab: train and use protein solubility classifiers.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser("train", help="train a classifier on a labelled CSV/FASTA file")
    train.add_argument("data", help="CSV/TSV (sequence and label columns) or labelled FASTA")
    train.add_argument(
        "--label-cutoff",
        type=float,
        default=None,
        help="labels that are measurements (solubility in %%): soluble at or above this value",
    )
    train.add_argument(
        "--model",
        default="cnn",
        help="model kind: cnn (the notes' 1D-CNN), dual (sequence + features), mlp (composition), "
        "composition, solubility_net or boosted_trees (members of the bundled model)",
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
    train.add_argument(
        "--dropped", default=None, help="CSV to write every dropped row to (row, reason, detail)"
    )
    train.add_argument("--recipe", default=None, help="train a named recipe (e.g. default) instead")
    predict = commands.add_parser("predict", help="P(soluble) for a sequence or a FASTA/CSV file")
    _add_input(predict, "proteins to predict")
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
    _add_input(features, "proteins to describe")
    features.add_argument("--out", default=None, help="CSV to write (default: standard output)")
    mutate = commands.add_parser("mutate", help="P(soluble) of every single substitution of one protein")
    _add_input(mutate, "one protein (a file holding one)")
    mutate.add_argument("--model", default=None, help="checkpoint file (default: the bundled model)")
    mutate.add_argument("--out", default=None, help="CSV to write (default: standard output)")
    split = commands.add_parser("split", help="train/val/test folds by homology (MMseqs2), labelled file")
    split.add_argument("data", help="CSV/TSV (sequence and label columns) or labelled FASTA")
    split.add_argument("--identity", type=float, default=0.3, help="link proteins at >= this identity (0.3)")
    split.add_argument("--val-fraction", type=float, default=0.1, help="share of proteins for validation")
    split.add_argument("--test-fraction", type=float, default=0.1, help="share of proteins for the test")
    split.add_argument("--seed", type=int, default=42, help="seed of the cluster assignment")
    split.add_argument("--out", required=True, help="CSV to write: id, sequence, label, fold, cluster")
    structure = commands.add_parser("structure", help="H/E/C secondary structure per residue")
    _add_input(structure, "proteins to predict")
    structure.add_argument("--model", default=None, help="per-residue checkpoint (default: the bundled one)")
    structure.add_argument("--out", default=None, help="CSV id,sequence,ss3 to write (default: stdout)")
    return parser


def _read(argument: str | None, sequence: str | None = None):  # -> tuple[PredictInput, bool]
    """The proteins of a file, a sequence in capital letters or --sequence text; (PredictInput, is_file).
    Notes and a file's left-out records are listed on stderr."""
    from protlab.data import read_proteins

    return read_proteins(
        argument, sequence, report=lambda line: print(line, file=sys.stderr), shown=SHOWN_ROWS
    )


def _read_records(argument: str | None, sequence: str | None = None) -> tuple[list, bool]:
    """Cleaned records from a file, a sequence in capital letters or --sequence text; (records, is_file)."""
    read, is_file = _read(argument, sequence)
    return read.records, is_file


def _against_labels(table: pd.DataFrame, labels: list[int], threshold: float) -> None:
    """Add the file's labels to the table and say on stderr how the calls do against them."""
    from protlab.data import CLASS_NAMES
    from protlab.label_check import check_labels

    for line in check_labels(table["p_soluble"], labels, table["sequence"], threshold).lines():
        print(line, file=sys.stderr)
    table["label"] = [CLASS_NAMES.get(y, "") for y in labels]  # in the words of the calls ('' for none)


def _in_chunks(records: list, work, done: str) -> pd.DataFrame:
    """work(records) in chunks of CHUNK, reporting progress on stderr when there is more than one."""
    if len(records) <= CHUNK:
        return work(records)
    parts = []
    for start in range(0, len(records), CHUNK):
        parts.append(work(records[start : start + CHUNK]))
        end = min(start + CHUNK, len(records))
        print(f"{done} {end:,} of {len(records):,} proteins.", file=sys.stderr, flush=True)
    return pd.concat(parts, ignore_index=True)


def _check_out(args: argparse.Namespace, *inputs: str | None) -> None:
    """Refuse --out before any work when it is an input (links too), a folder or not writable."""
    from protlab.data import check_output

    if args.out is not None:
        check_output(args.out, list(inputs), "--out")


def _write_csv(table: pd.DataFrame, out: str | None) -> None:
    """Write the table to `out` atomically (temp file + rename; checked by _check_out), or to stdout."""
    if out is None:
        table.to_csv(sys.stdout, index=False)
        return
    target = Path(out)
    atomic_write(target, table.to_csv(index=False))
    print(f"Wrote {len(table)} rows to {target}.", file=sys.stderr)


def _predict(args: argparse.Namespace) -> None:
    """The predict command."""
    from protlab.predict import PRIOR_RULE, Predictor

    if args.threshold is not None:
        FloatRange(0, 1).check(args.threshold, "threshold", label="--threshold")
    if args.prior is not None:
        PRIOR_RULE.check(args.prior, "prior", label="--prior")
    _check_out(args, args.input, args.model)
    read, is_file = _read(args.input, args.sequence)
    records = read.records
    predictor = Predictor.from_checkpoint(args.model) if args.model else Predictor.default()
    if args.threshold is None:
        args.threshold = predictor.stored_threshold if predictor.stored_threshold is not None else 0.5
    table = _in_chunks(
        records,
        lambda part: predictor.predict_table(part, threshold=args.threshold, prior=args.prior),
        "Predicted",
    )
    if not is_file and args.out is None:
        p, call = float(table["p_soluble"].iloc[0]), table["prediction"].iloc[0]
        shift = "" if args.prior is None else f"; adjusted to {args.prior:.1%} soluble from the model's"
        shift += "" if args.prior is None else f" {predictor.training_prior:.1%}"
        print(f"P(soluble) = {p:.3f} -> {call} (threshold {args.threshold:.2f}{shift})")
        return
    extra = ["model_score"] if args.prior is not None else []  # the unadjusted output beside the adjusted
    if read.labels is not None:
        _against_labels(table, read.labels, args.threshold)
        extra.append("label")
    _write_csv(table[["id", "sequence", "p_soluble", "prediction", *extra]], args.out)


def _mutate(args: argparse.Namespace) -> None:
    """The mutate command: one row per single substitution (1-based positions)."""
    from protlab.mutagenesis import saturation_mutagenesis
    from protlab.predict import Predictor

    _check_out(args, args.input, args.model)
    records, _ = _read_records(args.input, args.sequence)
    if len(records) != 1:
        raise DataFormatError(f"mutate takes one protein; {args.input} holds {len(records)}. Give one.")
    predictor = Predictor.from_checkpoint(args.model) if args.model else Predictor.default()
    _write_csv(saturation_mutagenesis(predictor, records[0].sequence).frame(), args.out)


def _structure(args: argparse.Namespace) -> None:
    """The structure command: one H/E/C letter per residue."""
    from protlab.structure import StructurePredictor

    _check_out(args, args.input, args.model)
    records, is_file = _read_records(args.input, args.sequence)
    predictor = StructurePredictor.from_checkpoint(args.model) if args.model else StructurePredictor.default()
    table = _in_chunks(records, predictor.predict_table, "Predicted the structure of")
    if not is_file and args.out is None:
        print(table["ss3"].iloc[0])
        return
    _write_csv(table, args.out)


def _features(args: argparse.Namespace) -> None:
    """The features command."""
    from protlab.data import features_frame

    _check_out(args, args.input)
    records, _ = _read_records(args.input, args.sequence)
    table = _in_chunks(
        records,
        lambda part: features_frame([r.sequence for r in part], [r.id for r in part]),
        "Computed the features of",
    )
    _write_csv(table, args.out)


def _split(args: argparse.Namespace) -> None:
    """The split command: every kept row of a labelled file with its fold and homology cluster."""
    from protlab.data import homology_split, load_labelled

    _check_out(args, args.data)
    data, report = load_labelled(args.data)
    for line in report.summary_lines() + [f"  {line}" for line in report.dropped_lines(SHOWN_ROWS)]:
        print(line, file=sys.stderr)
    split = homology_split(
        data.sequences, data.labels, identity=args.identity, val_fraction=args.val_fraction,
        test_fraction=args.test_fraction, seed=args.seed,
    )  # fmt: skip
    fold = pd.Series("train", index=range(len(data)))
    fold[split.val], fold[split.test] = "val", "test"
    table = pd.DataFrame({"id": data.ids, "sequence": data.sequences, "label": data.labels})
    table["fold"], table["cluster"] = fold.to_numpy(), split.clusters
    print(
        f"Split with {split.clustering} at {split.identity:.0%} identity: {split.n_clusters:,} clusters "
        f"(largest {split.largest_cluster:,}); {len(split.train):,} train, {len(split.val):,} val, "
        f"{len(split.test):,} test."
    )
    _write_csv(table, args.out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 2 user error, 130 interrupted)."""
    try:
        args = _build_parser().parse_args(argv)
        commands = {
            "train": train_command,
            "predict": _predict,
            "features": _features,
            "structure": _structure,
        }
        commands["mutate"] = _mutate
        commands["split"] = _split
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
