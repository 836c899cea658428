"""Same-answer sums under one force alone (modadd.forces.alone): the closed-form resting
states agree with the force integrated, the conserved quantities are conserved, and bad
input is named."""
import math

import numpy as np
import pytest

from modadd.forces import alone

S3 = np.array([[1.0, 0.4], [0.3, 1.1], [-0.9, -0.5]])        # the third on the far side of the origin


@pytest.mark.parametrize("sigma", [None, 0.8, 3.0])
def test_clustering_alone_meets_at_the_centroid(sigma):
    path = alone.flow_alone(S3, "clustering", time=30, steps=1200, sigma=sigma)
    assert np.allclose(path.sum(1), S3.sum(0), atol=1e-12)                 # the sum is conserved
    assert np.abs(path[-1] - alone.resting_state(S3, "clustering")).max() < 1e-6


def test_alignment_alone_keeps_radii_and_ends_on_the_weighted_mean_axis():
    path = alone.flow_alone(S3, "alignment", time=10, steps=400)
    r = np.linalg.norm(path, axis=-1)
    assert np.abs(r - r[0]).max() < 1e-6                                   # radii fixed
    rest = alone.resting_state(S3, "alignment")
    assert np.abs(path[-1] - rest).max() < 1e-6
    star = alone.resting_axis(S3)
    cross = rest[:, 0] * math.sin(star) - rest[:, 1] * math.cos(star)
    assert np.abs(cross).max() < 1e-12                                     # all on the line at theta*
    assert rest[2] @ np.array([math.cos(star), math.sin(star)]) < 0         # the far sum stays on its side
    # a different weighting of the angles (plain mean) would miss: the r^2 weights matter
    th = np.arctan2(S3[:, 1], S3[:, 0]) + np.array([0, 0, math.pi])
    assert abs(np.mean(th) - star) > 1e-3


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="force must be one of .*got force='repulsion'"):
        alone.resting_state(S3, "repulsion")
    with pytest.raises(ValueError, match="S must be a finite \\(U, 2\\) array of U >= 2"):
        alone.resting_state(S3[:1], "clustering")
    with pytest.raises(ValueError, match="must not hold a sum at the origin"):
        alone.resting_state(np.array([[0.0, 0.0], [1.0, 0.0]]), "alignment")
    spread = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.05], [0.05, -1.0]])   # doubled angles all round
    with pytest.raises(ValueError, match="doubled angles must lie within a half turn"):
        alone.resting_state(spread, "alignment")
    with pytest.raises(ValueError, match="time must be > 0"):
        alone.flow_alone(S3, "alignment", time=0)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        alone.flow_alone(S3, "alignment", steps=0)
