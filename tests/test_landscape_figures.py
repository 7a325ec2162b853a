"""The real-landscape figure: the trained weights' marker stands apart from every optimizer's path."""

from __future__ import annotations

import numpy as np

from protlab.lessons import SURFACES, OptimizerSpec, Trajectory
from protlab.lessons.landscape_figures import slice_figure


def test_the_trained_weights_marker_shares_no_colour_with_any_path():
    surface = SURFACES["bowl"]
    kinds = ("sgd", "momentum", "adam")
    paths = [Trajectory(surface, OptimizerSpec(kind, 0.1), surface.start) for kind in kinds]
    for path in paths:
        path.step(5)
    empty = np.empty((0, 2))
    fig = slice_figure(surface, paths, empty, np.empty(0), np.empty(0))
    centre = next(t for t in fig.data if t.name.startswith("trained weights"))
    path_colours = {t.line.color for t in fig.data if t.name in {p.spec.label for p in paths}}
    assert len(path_colours) == 3 and centre.marker.color not in path_colours
    assert (centre.x[0], centre.y[0]) == (0.0, 0.0)
