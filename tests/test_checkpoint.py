"""Checkpoints: round trips, atomic writes, and every kind of bad file refused with a clear message."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from protlab.errors import CheckpointError, ConfigError
from protlab.models import build_model, model_config_dict
from protlab.models import checkpoint as ckpt


def _saved(
    tmp_path: Path, kind: str = "cnn", config: dict | None = None, **kwargs
) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(kind, config or {"hidden_dim": 16, "embed_dim": 8})
    path = ckpt.save_checkpoint(
        tmp_path / "m.pt", model, kind=kind, model_config=model_config_dict(model), **kwargs
    )
    return path, model


def test_round_trip_restores_weights_metadata_and_predictions(tmp_path: Path) -> None:
    path, model = _saved(
        tmp_path,
        metrics={"auc": np.float64(0.75), "n": np.int64(10)},
        history=[{"epoch": 1, "loss": 0.5}],
        train_config={"lr": 1e-3, "path": tmp_path},
        data_summary={"lengths": np.arange(3)},
    )
    loaded = ckpt.load_checkpoint(path)
    assert loaded.kind == "cnn" and loaded.vocab_size == 21 and not loaded.model.training
    assert loaded.metrics == {"auc": 0.75, "n": 10} and type(loaded.metrics["n"]) is int
    assert loaded.history == [{"epoch": 1, "loss": 0.5}]
    assert loaded.data_summary == {"lengths": [0, 1, 2]} and loaded.train_config["path"] == str(tmp_path)
    tokens, mask = torch.randint(1, 21, (3, 15)), torch.ones(3, 15)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(tokens, mask), model(tokens, mask), rtol=0, atol=0)
    # the same bytes load from memory and from an open file
    assert ckpt.load_checkpoint(path.read_bytes()).kind == "cnn"
    with path.open("rb") as handle:
        assert ckpt.load_checkpoint(handle).kind == "cnn"


def test_dual_and_ensemble_round_trip_including_feature_buffers(tmp_path: Path) -> None:
    model = build_model("dual", {"hidden_dim": 8, "embed_dim": 4})
    model.set_feature_stats([1.0, 2, 3, 4, 5], [2.0, 2, 2, 2, 2])
    path = ckpt.save_checkpoint(tmp_path / "d.pt", model, kind="dual", model_config=model_config_dict(model))
    loaded = ckpt.load_checkpoint(path).model
    assert torch.equal(loaded.feature_mean, torch.tensor([1.0, 2, 3, 4, 5]))
    mixed = {"members": [{"kind": "cnn", "config": {}}, {"kind": "dual", "config": {"vocab_size": 22}}]}
    with pytest.raises(ConfigError, match="same vocab_size"):
        build_model("ensemble", mixed)
    ensemble_config = {
        "members": [{"kind": "cnn", "config": {"hidden_dim": 8}}, {"kind": "mlp", "config": {}}]
    }
    path, model = _saved(tmp_path, "ensemble", ensemble_config)
    assert ckpt.load_checkpoint(path).vocab_size == 21
    tokens = torch.randint(1, 21, (2, 9))
    with torch.no_grad():
        torch.testing.assert_close(ckpt.load_checkpoint(path).model(tokens, None), model.eval()(tokens, None))


def test_checkpoint_loads_with_plain_weights_only_torch_load(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "protlab-checkpoint" and payload["version"] == 1
    assert payload["vocab"]["pad"] == 0 and payload["vocab"]["unknown"] == 21


def test_failed_save_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _saved(tmp_path)
    before = path.read_bytes()

    def broken_save(obj, handle, *args, **kwargs):
        handle.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", broken_save)
    model = build_model("cnn", {"hidden_dim": 16, "embed_dim": 8})
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(path, model, kind="cnn", model_config=model_config_dict(model))
    assert path.read_bytes() == before  # the old checkpoint is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]  # no temporary file remains


def _expect(source, match: str) -> None:
    with pytest.raises(CheckpointError, match=match):
        ckpt.load_checkpoint(source)


def test_missing_empty_and_random_files(tmp_path: Path) -> None:
    _expect(tmp_path / "nope.pt", "No checkpoint file")
    (tmp_path / "empty.pt").write_bytes(b"")
    _expect(tmp_path / "empty.pt", "empty")
    _expect(os.urandom(64).replace(b"\x80", b"\x00").replace(b"P", b"Q"), "is not a PyTorch checkpoint file")
    _expect(b"sequence,label\nMKV,1\n", "is not a PyTorch checkpoint file")
    _expect(b"\x80\x02garbage that is not a pickle", "not a PyTorch checkpoint file|Python objects")


def test_truncated_and_corrupt_archives(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    data = path.read_bytes()
    _expect(data[: len(data) // 2], "damaged or incomplete")
    _expect(data[:-30], "damaged or incomplete")
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("m/data.pkl", b"not a pickle at all")
    _expect(broken.getvalue(), "damaged or incomplete")


class _Payload:
    """An object whose unpickling would create a marker file: the classic pickle attack."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("writer", ["pickle", "torch"])
def test_pickles_carrying_code_are_refused_and_never_run(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "marker"
    evil = {"format": "protlab-checkpoint", "version": 1, "state_dict": _Payload(marker)}
    path = tmp_path / "evil.pt"
    if writer == "pickle":
        path.write_bytes(pickle.dumps(evil, protocol=2))
    else:
        torch.save(evil, path)
    pickle.loads(pickle.dumps(_Payload(tmp_path / "control")))  # the payload really does work when unpickled
    assert (tmp_path / "control").exists()
    _expect(path, "contains Python objects other than tensors, which ProtLab refuses to load for safety")
    assert not marker.exists()


def test_other_torch_files_are_not_protlab_checkpoints(tmp_path: Path) -> None:
    model = build_model("cnn", {})
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    _expect(tmp_path / "sd.pt", "is a PyTorch file but not a ProtLab checkpoint.*bare state_dict")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    _expect(tmp_path / "list.pt", "is a PyTorch file but not a ProtLab checkpoint")


def _rewrite(path: Path, **changes) -> Path:
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    torch.save(payload, path)
    return path


def test_unknown_version_kind_and_mismatched_weights(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    _expect(_rewrite(path, version=99), "version 99")
    path, _ = _saved(tmp_path)
    _expect(_rewrite(path, kind="transformer"), "Unknown model kind 'transformer'")
    path, model = _saved(tmp_path)
    _expect(
        _rewrite(path, model_config=model_config_dict(model) | {"hidden_dim": 32}),
        "wrong shape.*conv1.weight",
    )
    path, _ = _saved(tmp_path)
    _expect(
        _rewrite(path, model_config=model_config_dict(model) | {"num_layers": 3}), "missing: conv3.weight"
    )
    path, _ = _saved(tmp_path)
    state = torch.load(path, weights_only=True)["state_dict"] | {"extra.weight": torch.zeros(1)}
    _expect(_rewrite(path, state_dict=state), "unexpected: extra.weight")
    path, _ = _saved(tmp_path)
    _expect(_rewrite(path, model_config={"hidden_dim": -4}), "cannot build")


def test_save_refuses_a_description_that_would_not_rebuild_the_model(tmp_path: Path) -> None:
    model = build_model("cnn", {"hidden_dim": 16})
    with pytest.raises(ConfigError, match="different architecture"):
        ckpt.save_checkpoint(tmp_path / "m.pt", model, kind="cnn", model_config={"hidden_dim": 32})
    with pytest.raises(ConfigError, match="different architecture"):
        ckpt.save_checkpoint(tmp_path / "m.pt", model, kind="dual", model_config={"hidden_dim": 16})
    with pytest.raises(ConfigError, match="Unknown model kind"):
        ckpt.save_checkpoint(tmp_path / "m.pt", model, kind="nope", model_config={})
    with pytest.raises(ConfigError, match="cannot store"):
        ckpt.save_checkpoint(
            tmp_path / "m.pt",
            model,
            kind="cnn",
            model_config=model_config_dict(model),
            extra={"bad": object()},
        )
    assert not any(tmp_path.iterdir())


_HUGE_CNN = {"embed_dim": 1024, "hidden_dim": 2048, "kernel_size": 31, "num_layers": 8}


def _declared(tmp_path: Path, kind: str, config: dict, state: dict | None = None) -> Path:
    """A small file that declares `kind`/`config` with the given (default: empty) state dict."""
    path, _ = _saved(tmp_path)
    return _rewrite(path, kind=kind, model_config=config, state_dict=state or {})


def _refuse_without_building(path: Path, match: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is refused, and no real (non-meta) parameter was ever allocated for it."""
    allocated = []
    original = torch.nn.Parameter.__new__

    def watch(cls, data=None, requires_grad=True):
        if data is not None and data.device.type != "meta":
            allocated.append(tuple(data.shape))
        return original(cls, data, requires_grad)

    monkeypatch.setattr(torch.nn.Parameter, "__new__", watch)
    _expect(path, match)
    assert allocated == []


def test_a_huge_declared_architecture_is_refused_before_anything_is_allocated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _declared(tmp_path / "one", "cnn", _HUGE_CNN)
    members = [{"kind": "cnn", "config": _HUGE_CNN}] * 16
    many = _declared(tmp_path / "many", "ensemble", {"members": members})
    assert one.stat().st_size < 20_000 and many.stat().st_size < 20_000
    monkeypatch.setattr(ckpt, "build_model", None)  # counted from the config: not even built on meta
    _refuse_without_building(one, f"at most {ckpt.MAX_LOADED_WEIGHTS:,} weights", monkeypatch)
    _refuse_without_building(many, "15,603,482,656 weights", monkeypatch)


def test_weights_are_checked_against_the_architecture_before_it_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"embed_dim": 64, "hidden_dim": 64}  # within the budget: only the names can refuse it
    _refuse_without_building(_declared(tmp_path, "cnn", config), "missing: embedding.weight", monkeypatch)


def test_ensemble_size_and_nesting_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = {"kind": "cnn", "config": {"embed_dim": 4, "hidden_dim": 4}}
    nested = {"kind": "ensemble", "config": {"members": [small] * 4}}
    five_by_four = {"members": [nested] * 5}  # 20 models through nesting, each list within MAX_MEMBERS
    _refuse_without_building(_declared(tmp_path, "ensemble", five_by_four), "at most 16 models", monkeypatch)
    deep = {"members": [small]}
    for _ in range(4):
        deep = {"members": [{"kind": "ensemble", "config": deep}]}
    _refuse_without_building(_declared(tmp_path, "ensemble", deep), "nested at most 2 deep", monkeypatch)
    ok = build_model("ensemble", {"members": [nested, small]})  # an ensemble of ensembles is allowed
    assert len(ok.members) == 2


def test_non_tensor_and_non_finite_weights_are_refused(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    state = torch.load(path, weights_only=True)["state_dict"]
    _expect(_rewrite(path, state_dict=state | {"fc.bias": "zeros"}), r"not tensors.*fc\.bias \(str\)")
    for bad in (float("nan"), float("inf")):
        path, _ = _saved(tmp_path)
        weight = state["fc.weight"].clone()
        weight[0, 0] = bad
        _expect(_rewrite(path, state_dict=state | {"fc.weight": weight}), r"NaN or infinite.*fc\.weight")


@pytest.mark.parametrize(
    "kind,config",
    [
        ("cnn", {}),
        ("cnn", {"vocab_size": 22, "embed_dim": 5, "hidden_dim": 7, "kernel_size": 3, "num_layers": 4}),
        ("cnn", {"num_layers": 1, "num_classes": 3}),
        ("dual", {}),
        ("dual", {"embed_dim": 6, "hidden_dim": 5, "global_dim": 3, "feature_names": ["length", "gravy"]}),
        ("mlp", {}),
        (
            "ensemble",
            {"members": [{"kind": "cnn", "config": {"hidden_dim": 9}}, {"kind": "dual", "config": {}}]},
        ),
    ],
)
def test_weights_counted_from_the_config_match_the_built_model(kind: str, config: dict) -> None:
    model = build_model(kind, config)
    assert ckpt.declared_weights(kind, config) == sum(v.numel() for v in model.state_dict().values())


def test_the_predict_page_does_not_load_a_refused_upload_again(tmp_path: Path, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from protlab.predict import Predictor
    from ui.router import ROUTED_RUN

    path = _declared(tmp_path, "cnn", _HUGE_CNN)
    data = path.read_bytes() + b""  # bytes of its own: the cache key is their digest
    loads = []
    real = Predictor.from_checkpoint.__func__

    def counted(cls, source):
        loads.append(1)
        return real(cls, source)

    monkeypatch.setattr(Predictor, "from_checkpoint", classmethod(counted))
    page = str(Path(__file__).resolve().parents[1] / "pages" / "predict.py")
    at = AppTest.from_file(page, default_timeout=180)
    at.session_state[ROUTED_RUN] = True
    at.query_params["student"] = "refused-upload-token-0123"
    at.session_state["uploaded_checkpoint"] = ("huge.pt", data)
    at.session_state["model_source"] = "Upload a checkpoint (.pt)"
    at.run()
    at.run()  # a rerun, as after any click
    assert at.error and "weights" in at.error[0].value and not at.exception
    assert len(loads) == 1
