"""Tests of bayes_nsi.inference.intervals against closed-form level sets and contours."""

import numpy as np
import pytest

from bayes_nsi.inference.intervals import contour_lines, intervals_to_text, profile_scan, profile_scans


class CountingChi2:
    """Wrap a vectorized chi2, counting calls and evaluated points."""

    def __init__(self, fn):
        self.fn, self.calls, self.points = fn, 0, 0

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        assert x.ndim == 1
        self.calls += 1
        self.points += x.size
        return self.fn(x)


def double_well(height, center, half_width=0.5):
    """Minima 0 at center +- half_width, barrier of ``height`` at ``center``."""
    return lambda x: height * ((x - center) ** 2 - half_width**2) ** 2 / half_width**4


def double_well_pieces(height, center, level, half_width=0.5):
    """Closed form: (x - c)^2 = a^2 (1 +- sqrt(level / height))."""
    s = np.sqrt(level / height)
    outer = half_width * np.sqrt(1 + s)
    if s >= 1:
        return [[center - outer, center + outer]]
    inner = half_width * np.sqrt(1 - s)
    return [[center - outer, center - inner], [center + inner, center + outer]]


def assert_pieces(got, expected, atol):
    assert len(got) == len(expected), (got, expected)
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=0, atol=atol)


@pytest.mark.parametrize("points", [2001, 41])
def test_one_piece(points):
    res = profile_scan(lambda x: ((x - 0.2) / 0.1) ** 2, -1.0, 1.0, points)
    assert_pieces(res.intervals[1.0], [[0.1, 0.3]], 1e-5)
    assert_pieces(res.intervals[4.0], [[0.0, 0.4]], 1e-5)
    assert res.chi2_min == pytest.approx(0.0, abs=1e-12)
    assert res.best_x == pytest.approx(0.2, abs=1e-6)
    np.testing.assert_allclose(res.delta_chi2, res.chi2 - res.chi2_min)


@pytest.mark.parametrize("points", [2001, 41])
def test_two_pieces(points):
    res = profile_scan(lambda x: ((x**2 - 0.25) / 0.05) ** 2, -1.0, 1.0, points)
    for level in (1.0, 4.0):
        r_in = np.sqrt(0.25 - 0.05 * np.sqrt(level))
        r_out = np.sqrt(0.25 + 0.05 * np.sqrt(level))
        assert_pieces(res.intervals[level], [[-r_out, -r_in], [r_in, r_out]], 1e-5)


@pytest.mark.parametrize("level", [1.0, 4.0])
@pytest.mark.parametrize("excess", [1e-3, -1e-3])
@pytest.mark.parametrize("offset", [0.013, 0.02, 0.0])
def test_nearly_touching_pieces(level, excess, offset):
    """Barrier of height level +- 1e-3 off the grid (offset > 0) or on a grid point."""
    x_grid = np.linspace(-1.0, 1.0, 51)  # spacing 0.04, 0.0 is a grid point
    height, center = level + excess, offset
    fn = double_well(height, center)
    if offset:  # precondition from the closed form: the grid reads below the level
        nearest = x_grid[np.argmin(np.abs(x_grid - center))]
        assert fn(nearest) < level
    res = profile_scan(fn, -1.0, 1.0, 51, levels=(level,))
    expected = double_well_pieces(height, center, level)
    assert len(expected) == (2 if excess > 0 else 1)
    assert_pieces(res.intervals[level], expected, 1e-5)


def test_narrow_dip_between_grid_points():
    """A dip to 0.5 with no grid point below 1, beside the global well."""
    c, w = 0.413, 0.008

    def fn(x):
        return np.minimum.reduce(
            [((x + 0.5) / 0.1) ** 2, 0.5 + ((x - c) / w) ** 2, np.full_like(x, 9.0)]
        )

    x_grid = np.linspace(-1.0, 1.0, 51)
    near = np.abs(x_grid - c) < 0.1
    assert fn(x_grid[near]).min() > 1.0  # the grid misses the 1-sigma dip
    res = profile_scan(fn, -1.0, 1.0, 51)
    for level in (1.0, 4.0):
        r = w * np.sqrt(level - 0.5)
        main = 0.1 * np.sqrt(level)
        expected = [[-0.5 - main, -0.5 + main], [c - r, c + r]]
        assert_pieces(res.intervals[level], expected, 1e-5)


def test_piece_at_range_edge():
    res = profile_scan(lambda x: ((x - 1.2) / 0.3) ** 2, -1.0, 1.0, 201)
    chi2_edge = (0.2 / 0.3) ** 2
    assert res.best_x == 1.0
    assert res.chi2_min == pytest.approx(chi2_edge, rel=1e-14)
    for level in (1.0, 4.0):
        (piece,) = res.intervals[level]
        assert piece[1] == 1.0
        lower = 1.2 - 0.3 * np.sqrt(level + chi2_edge)
        assert piece[0] == pytest.approx(lower, abs=1e-5)


def test_whole_range_and_empty_text():
    res = profile_scan(lambda x: 0.1 * x**2, -1.0, 1.0, 11)
    assert res.intervals[1.0] == [[-1.0, 1.0]]
    assert intervals_to_text(res.intervals[1.0]) == "[-1.00, 1.00]"
    assert intervals_to_text([]) == "none"
    text = intervals_to_text([[-0.451, -0.314], [0.02, 0.164]])
    assert text == "[-0.45, -0.31] U [0.02, 0.16]"
    assert intervals_to_text([[0.12345, 0.5]], digits=3) == "[0.123, 0.500]"


def test_refined_minimum_between_grid_points():
    x0, floor = 0.1234567, 3.7
    res = profile_scan(lambda x: floor + ((x - x0) / 0.2) ** 2, -1.0, 1.0, 41)
    assert res.chi2.min() - floor > 1e-4  # the grid alone is far off
    assert res.chi2_min == pytest.approx(floor, abs=1e-10)
    assert res.best_x == pytest.approx(x0, abs=1e-6)
    assert_pieces(res.intervals[1.0], [[x0 - 0.2, x0 + 0.2]], 1e-5)


def test_few_batched_calls():
    fn = CountingChi2(lambda x: ((x**2 - 0.25) / 0.05) ** 2 + np.sin(7 * x))
    profile_scan(fn, -1.0, 1.0, 201)
    assert fn.calls < 60
    fn = CountingChi2(double_well(1.001, 0.013))
    profile_scan(fn, -1.0, 1.0, 51)
    assert fn.calls < 60


COV = np.array([[0.04, 0.03], [0.03, 0.09]])
COV_INV = np.linalg.inv(COV)


def quad_form(dx, dy, cinv=COV_INV):
    return cinv[0, 0] * dx**2 + 2 * cinv[0, 1] * dx * dy + cinv[1, 1] * dy**2


def shoelace(v):
    return 0.5 * abs(np.dot(v[:-1, 0], v[1:, 1]) - np.dot(v[1:, 0], v[:-1, 1]))


def test_contour_rotated_ellipse():
    c, level = (0.1234, -0.0567), 2.30

    def fn(x, y):
        return quad_form(x - c[0], y - c[1])

    res = contour_lines(fn, (-0.5, 0.7), (-0.8, 0.7), 201, level)
    assert res.chi2_min == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(res.best_xy, c, atol=1e-5)
    assert res.delta_chi2_grid.shape == (201, 201)
    (line,) = res.lines
    assert line.shape[1] == 2
    np.testing.assert_array_equal(line[0], line[-1])
    np.testing.assert_allclose(fn(line[:, 0], line[:, 1]), level, rtol=1e-6)
    area = np.pi * level * np.sqrt(np.linalg.det(COV))
    assert shoelace(line) == pytest.approx(area, rel=1e-3)
    (raw,) = contour_lines(fn, (-0.5, 0.7), (-0.8, 0.7), 201, level, refine=False).lines
    assert (
        np.max(np.abs(fn(raw[:, 0], raw[:, 1]) / level - 1)) > 1e-5
    )  # refining matters


def test_contour_two_components():
    cov = COV / 16
    cinv = np.linalg.inv(cov)
    centers = [(-0.5, 0.1), (0.45, -0.1)]

    def fn(x, y):
        return np.minimum(*(quad_form(x - cx, y - cy, cinv) for cx, cy in centers))

    level = 6.18
    res = contour_lines(fn, (-1.0, 1.0), (-1.0, 1.0), 301, level)
    assert len(res.lines) == 2
    area = np.pi * level * np.sqrt(np.linalg.det(cov))
    found = []
    for line in res.lines:
        np.testing.assert_array_equal(line[0], line[-1])
        cx, cy = min(centers, key=lambda p: np.hypot(*(line.mean(axis=0) - p)))
        found.append((cx, cy))
        on_line = quad_form(line[:, 0] - cx, line[:, 1] - cy, cinv)
        np.testing.assert_allclose(on_line, level, rtol=1e-6)
        assert shoelace(line) == pytest.approx(area, rel=1e-3)
    assert sorted(found) == sorted(centers)


def test_profiles_refined_together_match_each_alone():
    """profile_scans on three different profiles = profile_scan on each (bit for bit), in fewer calls."""
    fns = [
        lambda x: ((x - 0.2) / 0.1) ** 2,
        double_well(1.001, 0.013),
        lambda x: np.minimum(((x + 0.5) / 0.1) ** 2, 0.5 + ((x - 0.413) / 0.008) ** 2),
    ]
    x = np.linspace(-1.0, 1.0, 51)
    counter = CountingChi2(lambda t: t)  # counts the batched calls

    def chi2(t, problem):
        counter(t)
        return np.choose(problem, [fn(t) for fn in fns])

    together = profile_scans(chi2, np.array([fn(x) for fn in fns]), -1.0, 1.0)
    alone = []
    calls_alone = 0
    for fn in fns:
        one = CountingChi2(fn)
        alone.append(profile_scan(one, -1.0, 1.0, 51))
        calls_alone += one.calls - 1  # the grid call is not a refinement
    for t, a in zip(together, alone, strict=True):
        assert t.intervals == a.intervals
        assert (t.best_x, t.chi2_min) == (a.best_x, a.chi2_min)
    assert counter.calls < calls_alone
    assert_pieces(together[1].intervals[1.0], double_well_pieces(1.001, 0.013, 1.0), 1e-5)
    assert_pieces(together[0].intervals[4.0], [[0.0, 0.4]], 1e-5)


def test_no_profiles_and_profiles_without_crossings():
    """Zero profiles give an empty list; a profile below every level everywhere has no root to refine."""
    assert profile_scans(lambda t, p: t, np.empty((0, 11)), -1.0, 1.0) == []
    x = np.linspace(-1.0, 1.0, 11)
    (flat,) = profile_scans(lambda t, p: 0.1 * t**2, (0.1 * x**2)[None, :], -1.0, 1.0)
    assert flat.intervals == {1.0: [[-1.0, 1.0]], 4.0: [[-1.0, 1.0]]}
