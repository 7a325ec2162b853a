"""The mutation map section: computing shows the map, summary and CSV; stacked mutations show the mutant."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

TIMEOUT = 120  # seconds per script run


def _section(sequence: str) -> None:
    """A page holding only the section, with a tiny CNN (AppTest runs this function's body as the script)."""
    import streamlit as st
    import torch

    from protlab.data import clean_sequence
    from protlab.models import build_model
    from protlab.predict import Predictor
    from ui.mutation_map import render_mutation_map

    @st.cache_resource
    def tiny_predictor() -> Predictor:  # one shared object, as the Predict page's cached models are
        torch.manual_seed(0)
        return Predictor(build_model("cnn", {"vocab_size": 22, "embed_dim": 8, "hidden_dim": 8}).eval())

    render_mutation_map(tiny_predictor(), clean_sequence(sequence), threshold=0.5)


def _open(sequence: str) -> AppTest:
    return AppTest.from_function(_section, args=(sequence,), default_timeout=TIMEOUT).run()


def test_compute_shows_map_summary_download_and_code() -> None:
    at = _open("MKTAYIAKQRQISFVKSHFSRQ")
    assert not at.exception, [e.value for e in at.exception]
    assert "418 mutants" in at.button(key="mutmap-seq1-compute").label
    at.button(key="mutmap-seq1-compute").click().run()
    assert not at.exception, [e.value for e in at.exception]
    charts = [c for c in at.get("plotly_chart")]
    assert len(charts) == 2  # the heat-map and the per-position summary
    summary = at.dataframe[0].value
    assert len(summary) == 22 and summary["best_delta"].is_monotonic_decreasing
    assert any("mutagenesis loop" in e.label for e in at.expander)
    assert len(at.get("download_button")) == 1


def test_stacked_mutations_show_the_mutant_and_its_prediction() -> None:
    import torch

    from protlab.models import build_model
    from protlab.mutagenesis import apply_mutations
    from protlab.predict import Predictor

    sequence = "MKTAYIAKQRQISFVKSHFSRQ"
    at = _open(sequence)
    at.button(key="mutmap-seq1-compute").click().run()
    at.number_input(key="mutmap-seq1-position").set_value(2).run()
    at.selectbox(key="mutmap-seq1-residue-2").set_value("W").run()
    at.button(key="mutmap-seq1-apply").click().run()
    at.number_input(key="mutmap-seq1-position").set_value(5).run()
    at.selectbox(key="mutmap-seq1-residue-5").set_value("G").run()
    at.button(key="mutmap-seq1-apply").click().run()
    assert not at.exception, [e.value for e in at.exception]
    mutant = apply_mutations(sequence, ["K2W", "Y5G"])
    assert [c.value for c in at.code if c.language is None or c.language == "plaintext"][0] == mutant
    assert "K2W, Y5G" in " ".join(m.value for m in at.markdown)
    torch.manual_seed(0)
    model = build_model("cnn", {"vocab_size": 22, "embed_dim": 8, "hidden_dim": 8}).eval()
    expected = Predictor(model).predict([sequence, mutant])
    shown = [float(m.value.split()[0]) for m in at.metric]
    np.testing.assert_allclose(shown, expected, atol=6e-4)
    at.button(key="mutmap-seq1-clear").click().run()
    assert not at.metric and not at.exception


def test_too_long_protein_gets_a_notice_not_a_computation() -> None:
    at = _open("A" * 2001)
    assert not at.exception
    assert "up to 2,000 residues" in at.info[0].value
    assert not at.button


def test_the_position_axis_counts_residues_from_1() -> None:
    from protlab.lessons.mutation_figures import position_axis

    short, long = position_axis(1, 22), position_axis(1, 108)
    assert short["range"] == [0.5, 22.5] and short["tickvals"][:3] == [1, 2, 3] and 0 not in short["tickvals"]
    assert long["tickvals"][:3] == [1, 10, 20] and long["tickvals"][-1] == 100
    window = position_axis(41, 100)
    assert window["tickvals"][0] == 41 and window["range"] == [40.5, 100.5]
    assert all(41 <= t <= 100 for t in window["tickvals"])
