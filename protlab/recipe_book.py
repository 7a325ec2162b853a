"""The named training recipes: which models, seeds, settings and split each one trains.

A recipe is a list of members (a model kind and config, a seed, its training settings) that all train on
the recipe's split; run_specs turns each member into one protlab.runs.RunSpec, which protlab.recipes trains
and averages. The default's split is the notes' homology-aware split ("mmseqs"): MMseqs2 links proteins
aligned at >= 30% identity over >= 80% of both (protlab.data.homology), linked proteins form one cluster
(single linkage), and whole clusters go to train / validation / test with the class balance kept as well as
whole clusters allow (seeded), so no validation or test protein has a training relative at that identity.
The older "kmer_cluster" split links sequences sharing more than `KMER_MIN_SHARED` of their distinct 4-mers
and fills the test set with whole clusters in a seeded random order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protlab.alphabet import VOCAB_SIZE
from protlab.checks import Choice, FloatRange
from protlab.data import LabelledData, Split, homology_split, stratified_split
from protlab.runs import RunSpec
from protlab.training import TrainConfig

KMER_SIZE = 4  # residues per k-mer used to find homologous clusters
KMER_MIN_SHARED = 0.1  # fraction of the shorter sequence's distinct 4-mers two relatives must share
KMER_CLUSTER_SPLIT = {
    "clustering": "shared_kmers",
    "k": KMER_SIZE,
    "identity": KMER_MIN_SHARED ** (1 / KMER_SIZE),  # linked when f^(1/k) > this
    "assignment": "random",
}  # homology_split settings of the "kmer_cluster" split
MMSEQS_SPLIT = {"clustering": "mmseqs", "assignment": "balanced"}  # homology_split settings of "mmseqs"
RECIPE_SPLITS = ("stratified", "kmer_cluster", "mmseqs")  # the split a recipe can ask for


@dataclass(frozen=True)
class Member:
    """One ensemble member: its model, its seed and any training settings of its own."""

    kind: str  # model kind (protlab.models registry)
    config: dict  # config dict for build_model(kind, ...)
    seed: int  # seeds the weights and the batch order
    train: dict = field(default_factory=dict)  # TrainConfig fields that override the recipe's for this member
    weight: float = 1.0  # its share of the ensemble's average, relative to the other members' (1.0 each)

    def __post_init__(self) -> None:
        """Refuse a weight that is not a positive number."""
        FloatRange(0, None, low_open=True).check(self.weight, "weight")


@dataclass(frozen=True)
class Recipe:
    """Everything needed to reproduce one trained model."""

    name: str  # recipe name, e.g. "default"
    description: str  # one sentence for the CLI and the model card
    kind: str  # model kind of every member (protlab.models registry)
    model_config: dict  # config dict for build_model(kind, ...)
    train: dict  # TrainConfig fields
    seeds: tuple[int, ...] = (42,)  # one member per seed; several seeds are averaged as an ensemble
    split: str = "stratified"  # one of RECIPE_SPLITS: the notes' 80/10/10, or homology-aware (k-mer, MMseqs2)
    identity: float = 0.3  # "mmseqs" split: sequence identity at which proteins are linked
    test_fraction: float = 0.1  # fraction of rows held out for the final test
    val_fraction: float = 0.1  # fraction of all rows used for early stopping and threshold choice
    split_seed: int = 42  # seed of the split
    tune_threshold: bool = False  # choose the MCC-optimal threshold on validation predictions
    extra_members: tuple[Member, ...] = ()  # further members (other kinds) trained after the seed members

    def members(self) -> list[Member]:
        """Every member in training order: one per seed of (kind, model_config), then extra_members."""
        return [Member(self.kind, self.model_config, s) for s in self.seeds] + list(self.extra_members)


SOLUBILITY_NET_CONFIG = {
    "embed_dim": 32,
    "kernel_sizes": [3, 5, 9],
    "channels": 32,
    "dropout": 0.3,
    "stat_clip": 4.0,
}  # SolubilityNet as shipped in the default ensemble
SOLUBILITY_NET_TRAIN = {
    "optimizer": "adamw",
    "lr": 3e-3,
    "weight_decay": 1e-2,
    "batch_size": 32,
    "epochs": 40,
    "patience": 6,
    "scheduler": "plateau",
    "plateau_factor": 0.5,
    "plateau_patience": 2,
    "grad_clip": 1.0,
    "max_length": 2000,
    "label_smoothing": 0.1,  # chosen on validation (model card: selection)
}  # its training settings (the compact CNNs take them too, with COMPACT_CNN_TRAIN's changes)
COMPACT_CNN_CONFIG = {
    "vocab_size": VOCAB_SIZE,
    "embed_dim": 32,
    "hidden_dim": 64,
    "kernel_size": 5,
    "num_layers": 2,
    "dropout": 0.3,
}  # a notes-style CNN at a quarter of the notes' cost
COMPACT_CNN_TRAIN = {"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0}  # overrides SOLUBILITY_NET_TRAIN
COMPOSITION_CONFIG = {
    "terminal_window": 25,
    "terminal_positions": 5,
    "use_groups": False,
    "use_dipeptides": False,
    "hidden_dim": 0,
}  # logistic regression on composition, terminal composition and terminal residues (model card: selection)
COMPOSITION_TRAIN = {
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 1e-2,
    "batch_size": 64,
    "label_smoothing": 0.0,
    "cpu_bf16": False,
}  # overrides SOLUBILITY_NET_TRAIN: an L2-penalised logistic regression, as scikit-learn's would fit it
BOOSTED_TREES_CONFIG = {
    "terminal_window": 25,
    "terminal_positions": 5,
    "n_trees": 200,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
}  # boosted trees on the CompositionNet's statistics (model card: selection); no gradient training

THREE_SOLUBILITY_NETS = {
    "kind": "solubility_net",
    "model_config": SOLUBILITY_NET_CONFIG,
    "train": SOLUBILITY_NET_TRAIN,
    "seeds": (1, 2, 3),
    "split": "mmseqs",
    "tune_threshold": True,
}  # shared by two recipes

RECIPES: dict[str, Recipe] = {
    "notes-cnn": Recipe(
        name="notes-cnn",
        description="The course notes' case-study CNN trained the notes' way (Adam 1e-3, batch 32, "
        "ReduceLROnPlateau patience 5 factor 0.5, early stopping patience 10, clip 1.0, 80/10/10 split).",
        kind="cnn",
        model_config={
            "vocab_size": 21,
            "embed_dim": 64,
            "hidden_dim": 128,
            "kernel_size": 5,
            "num_layers": 2,
            "dropout": 0.3,
        },
        train={
            "optimizer": "adam",
            "lr": 1e-3,
            "batch_size": 32,
            "epochs": 50,
            "patience": 10,
            "scheduler": "plateau",
            "plateau_factor": 0.5,
            "plateau_patience": 5,
            "grad_clip": 1.0,
            "max_length": 2000,
        },
    ),
    "solubility-net": Recipe(
        name="solubility-net",
        description="Three SolubilityNets (multi-kernel CNN + composition, terminal and dipeptide "
        "statistics) trained with AdamW, early stopping and label smoothing 0.1, averaged; held-out test "
        "set split at 30% identity with MMseqs2.",
        **THREE_SOLUBILITY_NETS,
    ),
    "default": Recipe(
        name="default",
        description="ProtLab's default: an ensemble of three SolubilityNets (multi-kernel CNN + composition, "
        "terminal and dipeptide statistics; AdamW), three compact notes-style CNNs (vocabulary 22, "
        "embedding 32, two Conv1d layers of 64 channels; Adam), each trained with early stopping on "
        "validation loss and label smoothing 0.1, and one CompositionNet (logistic regression on residue "
        "composition, terminal composition, the first and last five residues and log length), their "
        "probabilities averaged, then averaged half and half with 200 gradient-boosted trees on the same "
        "statistics; held-out test set split at 30% identity with MMseqs2.",
        **THREE_SOLUBILITY_NETS,
        extra_members=tuple(Member("cnn", COMPACT_CNN_CONFIG, s, COMPACT_CNN_TRAIN) for s in (11, 12, 13))
        + (Member("composition", COMPOSITION_CONFIG, 42, COMPOSITION_TRAIN),)
        + (Member("boosted_trees", BOOSTED_TREES_CONFIG, 42, weight=7.0),),  # as much as the 7 others
    ),
}


def get_recipe(name: str) -> Recipe:
    """Look a recipe up by name, with a helpful error for unknown names."""
    Choice(sorted(RECIPES)).check(name, "recipe")
    return RECIPES[name]


def run_specs(recipe: Recipe, data: LabelledData, train_overrides: dict | None = None) -> list[RunSpec]:
    """One RunSpec per member, in training order: its model and seed, the recipe's split and settings."""
    Choice(RECIPE_SPLITS).check(recipe.split, "split")
    method, params = {
        "stratified": ("stratified", {}),
        "kmer_cluster": ("homology", KMER_CLUSTER_SPLIT),
        "mmseqs": ("homology", {**MMSEQS_SPLIT, "identity": recipe.identity}),
    }[recipe.split]
    params = {
        **params,
        "val_fraction": recipe.val_fraction,
        "test_fraction": recipe.test_fraction,
        "seed": recipe.split_seed,
    }  # the same split for every member, whatever its training seed
    specs = []
    for m in recipe.members():
        settings = {**recipe.train, **m.train, **(train_overrides or {}), "seed": m.seed}
        specs.append(
            RunSpec(
                name=f"{recipe.name}: {m.kind} seed {m.seed}",
                data=data,
                data_description=f"recipe {recipe.name}",
                split_method=method,
                split_params=params,
                model_kind=m.kind,
                model_config=m.config,
                train_config=TrainConfig(**settings),
            )
        )
    return specs


def recipe_split(recipe: Recipe, data: LabelledData) -> Split:
    """The recipe's train/validation/test split of the data (the same for every member)."""
    spec = run_specs(recipe, data)[0]
    if spec.split_method == "homology":
        return homology_split(data.sequences, data.labels, **spec.split_params)
    return stratified_split(data.labels, **spec.split_params)
