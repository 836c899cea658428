"""The checkers pass the reference solutions and fail typical wrong answers helpfully."""
import numpy as np
import pytest

from modadd.teaching import checks


def leak_ok(held_out, N):
    held = np.asarray(held_out).reshape(N, N)
    return (held & ~held.T).sum() / held.sum()


def pizza_ok(E, a, b, k):
    E = E - E.mean(0)
    N = len(E)
    z = E[:, 0] + 1j * E[:, 1]                       # points as complex numbers
    step = np.angle(z[1] / z[0])                     # angle from residue 0 to residue 1
    if abs(np.angle(np.exp(1j * (step + 2 * np.pi * k / N)))) < abs(np.angle(np.exp(1j * (step - 2 * np.pi * k / N)))):
        k = -k                                       # the circle runs clockwise
    s = z[a] + z[b]
    doubled = np.angle(s ** 2 / z[0] ** 2)           # doubled angle, relative to residue 0's
    m = np.round(doubled / (2 * np.pi) * N).astype(int) % N   # k (a + b) mod N
    return (m * pow(k % N, -1, N)) % N               # divide by k mod N


def pizza_ccw_only(E, a, b, k):
    E = E - E.mean(0)
    N = len(E)
    s = E[a] + E[b]
    th0 = np.angle(E[0, 0] + 1j * E[0, 1])
    doubled = np.angle((s[..., 0] + 1j * s[..., 1]) ** 2) - 2 * th0
    m = np.round(doubled / (2 * np.pi) * N).astype(int) % N
    return (m * pow(k, -1, N)) % N


def test_pizza_hidden_cases_include_reflected_circles():
    cases = checks.CHECKS["check_pizza_answer"].random_cases(np.random.default_rng(0), 4)
    assert sum("counter-clockwise" not in label for label, _ in cases) == 2
    assert checks.check_pizza_answer(pizza_ok, hidden_seed=3).passed
    assert not checks.check_pizza_answer(pizza_ccw_only, hidden_seed=3).passed


def test_reference_solutions_pass(capsys):
    assert checks.check_leak_fraction(leak_ok).passed
    assert checks.check_count_parameters(lambda n, hidden, bias: 2 * n + 2 * hidden + hidden * n
                                         + (hidden + n if bias else 0)).passed
    assert checks.check_pizza_answer(pizza_ok).passed
    out = capsys.readouterr().out
    assert out.count("[modadd check]") == 3 and "passed" in out


def test_not_yet_is_reported_not_raised(capsys):
    def stub(*args):
        raise NotImplementedError()
    for check in (checks.check_leak_fraction, checks.check_count_parameters, checks.check_pizza_answer):
        r = check(stub)
        assert r.status == "not yet" and not r
    assert "still raises NotImplementedError" in capsys.readouterr().out


def test_wrong_answers_say_what_differs(capsys):
    # counts every held-out pair whose mirror is held out, the opposite of the question
    r = checks.check_leak_fraction(lambda h, N: float((np.reshape(h, (N, N)) & np.reshape(h, (N, N)).T).sum()
                                                      / np.sum(h)))
    assert r.status == "failed" and "case 1 (unordered split, N=17): expected 0.0, got 1.0" in r.message
    # forgets that biases are absent when bias=False
    r = checks.check_count_parameters(lambda n, hidden, bias: 2 * n + 2 * hidden + hidden * n + hidden + n)
    assert r.status == "failed" and "n=17, hidden=64, bias=False" in r.message and "expected 1250" in r.message
    # returns a float
    r = checks.check_count_parameters(lambda n, hidden, bias: 1331.0)
    assert r.status == "failed"
    # forgets to divide by k
    r = checks.check_pizza_answer(lambda E, a, b, k: pizza_ok(E, a, b, 1))
    assert r.status == "failed" and "N=17, k=5" in r.message
    # wrong shape
    r = checks.check_pizza_answer(lambda E, a, b, k: pizza_ok(E, a, b, k)[:3])
    assert "shape (3,)" in r.message
    # assumes the circle runs counter-clockwise: right on those, wrong on reflected circles
    r = checks.check_pizza_answer(pizza_ccw_only)
    assert r.status == "failed" and r.cases_passed == 2
    assert "case 3 (N=13, k=3, clockwise, all pairs)" in r.message
    # a crash inside the student's function is reported, not raised
    r = checks.check_leak_fraction(lambda h, N: 1 / 0)
    assert r.status == "failed" and "ZeroDivisionError" in r.message
    assert not checks.check_leak_fraction("not a function")


def clustering_ok(S, labels, sigma):
    d = S[None, :, :] - S[:, None, :]                       # d[p, q] = s_q - s_p
    same = labels[:, None] == labels[None, :]
    w = np.exp(-(d ** 2).sum(-1) / (2 * sigma ** 2)) * same
    return (w[..., None] * d).sum(1)


def test_clustering_checker_both_ways():
    assert checks.check_clustering_force(clustering_ok).passed
    # pulls toward every sum, whatever its answer: wrong
    wrong = checks.check_clustering_force(lambda S, y, s: clustering_ok(S, np.zeros_like(y), s))
    assert wrong.status == "failed" and "case 1" in wrong.message
    # pushes instead of pulls
    assert not checks.check_clustering_force(lambda S, y, s: -clustering_ok(S, y, s))


def gauge_ok(E):
    X = np.asarray(E, float) - np.mean(E, 0)
    ev, V = np.linalg.eigh(X.T @ X / len(X))
    return X @ V @ np.diag(ev ** -0.5) @ V.T


def test_affine_gauge_checker_both_ways():
    assert checks.check_affine_gauge(gauge_ok).passed
    # Cholesky whitening: mean 0 and identity covariance too, but it turns the shape
    chol = checks.check_affine_gauge(lambda E: np.linalg.solve(
        np.linalg.cholesky(np.cov(np.asarray(E).T, bias=True)), (E - np.mean(E, 0)).T).T)
    assert chol.status == "failed" and "case 1 (17 points, stretched and shifted)" in chol.message
    # forgets to centre
    assert not checks.check_affine_gauge(lambda E: gauge_ok(E) + np.mean(E, 0))
    # only fixes the size
    size = checks.check_affine_gauge(lambda E: (E - np.mean(E, 0)) / np.sqrt(np.mean(np.square(E - np.mean(E, 0)))))
    assert size.status == "failed"


def rho_ok(E, W1, b1, pairs):
    pre = (E[pairs[:, 0]] + E[pairs[:, 1]]) @ W1
    return float(np.sqrt(np.mean(b1 ** 2)) / np.sqrt(np.mean(pre ** 2)))


def test_relative_bias_checker_both_ways():
    assert checks.check_relative_bias(rho_ok).passed
    # uses only one member of each pair
    one = checks.check_relative_bias(lambda E, W1, b1, p: float(np.sqrt(np.mean(b1 ** 2))
                                                                 / np.sqrt(np.mean((E[p[:, 0]] @ W1) ** 2))))
    assert one.status == "failed" and "case 1 (n=17, H=64" in one.message
    # forgets the square roots
    assert not checks.check_relative_bias(lambda E, W1, b1, p: rho_ok(E, W1, b1, p) ** 2)
    # returns an array, not a number
    assert "shape" in checks.check_relative_bias(lambda E, W1, b1, p: np.array([rho_ok(E, W1, b1, p)])).message


# ---------------------------------------------------------------- the chain (07_rebuild)
def switched_ok(S, W1, b1):
    on = np.asarray(S) @ W1 + b1 > 0
    return (on[:, None, :] != on[None, :, :]).mean(-1)


def test_switched_share_checker_both_ways():
    assert checks.check_switched_share(switched_ok).passed
    # forgets the biases: right only for the cases without them
    no_b = checks.check_switched_share(lambda S, W1, b1: switched_ok(S, W1, 0 * b1))
    assert no_b.status == "failed" and no_b.cases_passed == 2 and "case 1 (12 sums, 8 units, with biases)" in no_b.message
    # counts the units on at both, not the ones switched
    assert not checks.check_switched_share(lambda S, W1, b1: ((np.asarray(S) @ W1 + b1 > 0)[:, None]
                                                              & (np.asarray(S) @ W1 + b1 > 0)[None]).mean(-1))


def r2_ok(target, fields, E, shift):
    E, n = np.asarray(E, float), len(E)
    cols = []
    for k in range(2):
        for c in range(2):
            f = np.zeros((n, 2)); f[:, k] = E[:, c]; cols.append(f.ravel())
        if shift:
            f = np.zeros((n, 2)); f[:, k] = 1.0; cols.append(f.ravel())
    X = np.stack(cols, 1)
    remove = lambda f: np.asarray(f, float).ravel() - X @ np.linalg.lstsq(X, np.asarray(f, float).ravel(), rcond=None)[0]  # noqa: E731
    y = remove(target)
    if np.linalg.norm(y) <= 1e-10 * np.linalg.norm(target):
        return 0.0
    F = np.stack([remove(f) for f in fields], 1)
    fit = F @ np.linalg.lstsq(F, y, rcond=None)[0]
    return float(1 - np.sum((y - fit) ** 2) / np.sum(y ** 2))


def test_symmetry_free_r2_checker_both_ways():
    assert checks.check_symmetry_free_r2(r2_ok).passed
    # no removal at all: the affine part of the target counts as unexplained
    raw = checks.check_symmetry_free_r2(lambda t, fs, E, shift: r2_ok(t, fs, np.zeros_like(E), False))
    assert raw.status == "failed" and "case 1 (n=17, 2 fields, affine part removed)" in raw.message
    # removes the shift even without biases
    always = checks.check_symmetry_free_r2(lambda t, fs, E, shift: r2_ok(t, fs, E, True))
    assert always.status == "failed" and "n=17, 1 field, linear part removed" in always.message


def orders_ok(k_start, k_net, k_part):
    both = (k_net > 0) & (k_part > 0)
    left = both & (k_net != k_start)
    return (float(np.mean(k_part[both] == k_net[both])), float(np.mean(k_start[both] == k_net[both])),
            float(np.mean(k_part[left] == k_net[left])))


def test_order_agreement_checker_both_ways():
    assert checks.check_order_agreement(orders_ok).passed
    # counts the seeds where only the network is a circle too
    loose = checks.check_order_agreement(lambda s, n, p: orders_ok(s, n, np.where(p > 0, p, 9)))
    assert loose.status == "failed"
    # the baseline against the particles instead of the network
    swapped = checks.check_order_agreement(lambda s, n, p: (orders_ok(s, n, p)[0], orders_ok(s, p, n)[1],
                                                            orders_ok(s, n, p)[2]))
    assert swapped.status == "failed" and "case 4 (4 seeds by hand)" in swapped.message


# ---------------------------------------------------------------- graded mode (student notebooks)
def count_ok(n, hidden, bias):
    return 2 * n + 2 * hidden + hidden * n + (hidden + n if bias else 0)


def test_graded_mode_returns_points_and_prints_the_friendly_lines(capsys):
    assert checks.check_count_parameters(count_ok, graded=True) == 4.0
    out = capsys.readouterr().out
    assert "[modadd check] count_parameters: passed" in out and "4 points of 4" in out
    # partly right (biases counted even when absent): one point per case it gets right
    pts = checks.check_count_parameters(lambda n, hidden, bias: count_ok(n, hidden, True), graded=True)
    assert pts == 2.0 and isinstance(pts, float)
    out = capsys.readouterr().out
    assert "count_parameters: failed" in out and "n=17, hidden=64, bias=False" in out and "expected 1250" in out
    assert "2 of 4 cases passed" in out
    # the friendly mode reports the same cases
    r = checks.check_count_parameters(lambda n, hidden, bias: count_ok(n, hidden, True))
    assert r.status == "failed" and (r.cases_passed, r.cases) == (2, 4) and "expected 1250" in r.message


def test_graded_mode_raises_with_the_helpful_message_when_nothing_passes(capsys):
    def stub(*args):
        raise NotImplementedError()
    for check in (checks.check_leak_fraction, checks.check_count_parameters, checks.check_pizza_answer,
                  checks.check_relative_bias):
        with pytest.raises(AssertionError, match=r"\[modadd check\] \w+: not yet\n\w+ still raises NotImplementedError"):
            check(stub, graded=True)
    with pytest.raises(AssertionError, match=r"case 1 \(n=17, H=64, all unordered pairs\): expected"):
        checks.check_relative_bias(lambda E, W1, b1, p: rho_ok(E, W1, b1, p) ** 2, graded=True)
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        checks.check_leak_fraction(lambda h, N: 1 / 0, graded=True)
    with pytest.raises(AssertionError, match="expected a function, got str"):
        checks.check_leak_fraction("not a function", graded=True)
    assert capsys.readouterr().out == ""          # the message is in the error, not printed twice


def test_graded_mode_keeps_warnings_off_stderr(capsys):
    # nbgrader counts any stderr output in a test cell as a failure: a warning from the
    # student's code must not cost the points of the cases that pass
    def noisy(held_out, N):
        np.array([1.0]) / np.array([0.0])                       # RuntimeWarning
        return leak_ok(held_out, N)
    assert checks.check_leak_fraction(noisy, graded=True) == 4.0
    assert capsys.readouterr().err == ""


def test_hidden_cases_are_other_cases_drawn_from_the_seed(capsys):
    seen = []
    def spy(n, hidden, bias):
        seen.append((n, hidden, bias))
        return count_ok(n, hidden, bias)
    assert checks.check_count_parameters(spy, graded=True, hidden_seed=7) == float(checks.HIDDEN_CASES)
    first, seen[:] = list(seen), []
    checks.check_count_parameters(spy, graded=True, hidden_seed=7)
    assert seen == first                                        # reproducible
    seen[:] = []
    checks.check_count_parameters(spy)
    assert not set(first) & set(seen)                           # not the chapter's cases
    # a lookup table of the chapter's cases earns nothing on the hidden ones
    table = {args: count_ok(*args) for _, args in checks.CHECKS["check_count_parameters"].cases()}
    lookup = lambda n, hidden, bias: table.get((n, hidden, bias), 0)   # noqa: E731
    assert checks.check_count_parameters(lookup, graded=True) == 4.0
    with pytest.raises(AssertionError, match="hidden case 1: your answer differs from the book's") as e:
        checks.check_count_parameters(lookup, graded=True, hidden_seed=7)
    # the report (a student's feedback) names the hidden cases by number only: no input, no value
    assert "also failed: hidden case 2, hidden case 3, hidden case 4" in str(e.value)
    for n, hidden, bias in first:
        assert f"n={n}" not in str(e.value) and f"{count_ok(n, hidden, bias)}" not in str(e.value)
    assert "expected" not in str(e.value) and "got" not in str(e.value)
    # a hidden case that raises names the exception's type, not its message (which may hold the input)
    def crash(n, hidden, bias):
        raise IndexError(f"index {n} is out of bounds")
    with pytest.raises(AssertionError, match="hidden case 1: your function raised IndexError\n") as e:
        checks.check_count_parameters(crash, graded=True, hidden_seed=7)
    assert "out of bounds" not in str(e.value)


@pytest.mark.parametrize("name, answer", [("check_leak_fraction", leak_ok), ("check_count_parameters", count_ok),
                                          ("check_pizza_answer", pizza_ok), ("check_clustering_force", clustering_ok),
                                          ("check_affine_gauge", gauge_ok), ("check_relative_bias", rho_ok),
                                          ("check_switched_share", switched_ok), ("check_symmetry_free_r2", r2_ok),
                                          ("check_order_agreement", orders_ok)])
def test_reference_answers_pass_every_hidden_draw(name, answer, capsys):
    check = getattr(checks, name)
    assert checks.case_count(name) == 4 and checks.case_count(name, hidden=True) == checks.HIDDEN_CASES
    for seed in range(10):
        assert check(answer, graded=True, hidden_seed=seed) == checks.HIDDEN_CASES


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="graded must be True or False, got 'yes'"):
        checks.check_leak_fraction(leak_ok, graded="yes")
    with pytest.raises(ValueError, match="hidden_seed must be None or an integer >= 0, got -1"):
        checks.check_leak_fraction(leak_ok, hidden_seed=-1)
    with pytest.raises(ValueError, match="unknown checker 'check_nothing'; known: check_affine_gauge"):
        checks.case_count("check_nothing")


def test_an_undefined_answer_is_named_not_a_name_error():
    """A graded cell passes ``globals().get(name)``: an answer cell that failed (a syntax
    error, say) left the function undefined, and the check says so."""
    with pytest.raises(checks.CheckFailed, match="leak_fraction is not defined: run the cell that defines it"):
        checks.check_leak_fraction(None, graded=True)
    with pytest.raises(checks.CheckFailed) as e:
        checks.check_leak_fraction(None, graded=True, hidden_seed=3)
    assert e.value._render_traceback_()[0] == "CheckFailed: [modadd check] leak_fraction: failed"
