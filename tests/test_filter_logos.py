"""The filter-logo section: off until asked; then one bank's logos and top k-mers; models without a conv."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

TIMEOUT = 180  # seconds per script run (the training sample is read on the first)


def _section(kind: str) -> None:
    """A page holding only the section, with a tiny model of the given kind (run by AppTest as a script)."""
    import streamlit as st
    import torch

    from protlab.models import build_model
    from ui.filter_logos import render_filter_logos

    @st.cache_resource
    def tiny(kind: str):
        torch.manual_seed(0)
        config = {"cnn": {"vocab_size": 22, "embed_dim": 4, "hidden_dim": 6, "kernel_size": 3}, "mlp": {}}[
            kind
        ]
        return build_model(kind, config).eval()

    render_filter_logos(tiny(kind), f"tiny-{kind}", prefix="f")


def test_logos_and_kmers_of_a_cnn_after_the_toggle() -> None:
    at = AppTest.from_function(_section, args=("cnn",), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "learned motif detector" in " ".join(c.value for c in at.caption)
    assert not at.get("image")
    at.toggle(key="f-show").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("image")) == 1
    table = at.dataframe[0].value
    assert 1 <= len(table) <= 6 and set(table["width"]) == {3}
    assert table["top score"].is_monotonic_decreasing and (table["top score"] > 0).all()
    first = table["top k-mers (times among the best)"].iloc[0].split(",")[0]
    assert len(first.split()[0]) == 3  # a 3-residue window


def test_a_model_without_a_convolution_says_so() -> None:
    at = AppTest.from_function(_section, args=("mlp",), default_timeout=TIMEOUT).run()
    at.toggle(key="f-show").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "no convolutional first layer" in at.info[0].value


def _run_section(path: str) -> None:
    """A page holding only a run's filter section (AppTest runs this function's body as the script)."""
    from ui.filter_logos import render_run_filters

    render_run_filters(path or None, "r1")


def test_a_runs_checkpoint_gets_its_logos_and_no_checkpoint_nothing(tmp_path) -> None:
    import torch

    from protlab.models import build_model, model_config_dict, save_checkpoint

    torch.manual_seed(1)
    model = build_model("dual", {"embed_dim": 4, "hidden_dim": 5})
    path = save_checkpoint(tmp_path / "run.pt", model, kind="dual", model_config=model_config_dict(model))
    at = AppTest.from_function(_run_section, args=(str(path),), default_timeout=TIMEOUT).run()
    at.toggle(key="run-filters-r1-show").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "conv, width" in at.selectbox(key="run-filters-r1-bank").format_func(0)
    assert len(at.get("image")) == 1
    empty = AppTest.from_function(_run_section, args=("",), default_timeout=TIMEOUT).run()
    assert not empty.exception and not empty.toggle and not empty.subheader
