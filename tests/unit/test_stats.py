import numpy as np
import pandas as pd
import pytest

from modadd.analysis import stats
from modadd.analysis.structure import CLASSES


def test_wilson_interval():
    lo, hi = stats.wilson_interval(8, 16)
    assert lo < 0.5 < hi and abs((lo + hi) / 2 - 0.5) < 1e-12
    lo, hi = stats.wilson_interval(16, 16)
    assert hi == pytest.approx(1.0) and 0.75 < lo < 0.85     # 16/16 is no proof of 100%
    lo, hi = stats.wilson_interval(0, 16)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi < 0.25


def test_wilson_interval_takes_arrays():
    lo, hi = stats.wilson_interval([0, 8, 16], [16, 16, 16])
    assert lo.shape == hi.shape == (3,) and (lo <= hi).all() and lo[0] < lo[1] < lo[2]


TABLE = pd.DataFrame({"wd": [1, 1, 0, 0, 0, 1],
                      "class": ["other", "other", "circle", "grid", "circle", "diverged"]})


def test_class_fractions():
    f = stats.class_fractions(TABLE, ["wd"])
    row = f[(f.wd == 0) & (f["class"] == "circle")].iloc[0]
    assert row["count"] == 2 and row["runs"] == 3 and row["fraction"] == pytest.approx(2 / 3)
    assert f.groupby("wd")["fraction"].sum().tolist() == pytest.approx([1.0, 2 / 3])   # one run diverged
    assert (f["lo"] <= f["fraction"]).all() and (f["fraction"] <= f["hi"]).all()


def test_class_counts_has_every_class_in_order_of_appearance():
    c = stats.class_counts(TABLE, "wd")
    assert list(c.columns) == list(CLASSES) and list(c.index) == [1, 0]
    assert c.loc[0].tolist() == [2, 1, 0] and c.loc[1].tolist() == [0, 0, 2]   # "diverged" is no class
    share = stats.class_counts(TABLE, "wd", normalize=True)
    assert share.loc[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0]) and share.loc[1, "other"] == pytest.approx(2 / 3)


def test_class_counts_by_two_columns():
    t = pd.DataFrame({"n": [31, 31, 59, 59], "forces": ["clu", "ali", "clu", "clu"],
                      "class": ["grid", "circle", "grid", "other"]})
    c = stats.class_counts(t, ["n", "forces"], normalize=True)
    assert list(c.index) == [(31, "clu"), (31, "ali"), (59, "clu")]
    assert c.loc[(31, "ali"), "circle"] == 1.0 and c.loc[(59, "clu")].tolist() == pytest.approx([0, 0.5, 0.5])


def test_share_is_the_count_over_runs_with_its_wilson_interval():
    s, lo, hi = stats.share(3, 12)
    assert s == 0.25 and (lo, hi) == tuple(float(x) for x in stats.wilson_interval(3, 12))
    assert lo < s < hi
    assert all(x != x for x in stats.share(0, 0))                    # nothing counted: NaN


def test_class_shares_one_row_per_setting_in_order_of_appearance():
    t = pd.DataFrame({"s": ["b", "b", "a", "b"], "class": ["circle", "grid", "circle", "diverged"]})
    out = stats.class_shares(t, "s")
    assert list(out.index) == ["b", "a"] and list(out["runs"]) == [3, 1]
    assert list(out["circle"]) == [1, 1] and out.loc["b", "circle share"] == 1 / 3
    assert out.loc["b", "other"] == 0 and out.loc["a", "circle lo"] == stats.share(1, 1)[1]


def test_bootstrap_mean_resamples_the_entries():
    import numpy as np
    x = np.arange(10.0)
    m, lo, hi = stats.bootstrap_mean(x, np.random.default_rng(0), 2000)
    assert m == 4.5 and 2.5 < lo < 4.5 < hi < 6.5
    assert stats.bootstrap_mean([2.0, 2.0], np.random.default_rng(1), 50) == (2.0, 2.0, 2.0)
    lo, hi = stats.percentile_interval(np.arange(101.0))
    assert (lo, hi) == (2.5, 97.5)


def test_auc_ranks_and_its_interval_holds_it():
    from modadd.analysis.stats import auc
    y = np.array([True, True, False, False, False])
    assert auc([3.0, 2.0, 1.0, 0.0, -1.0], y)[0] == 1.0            # every positive above every negative
    assert auc([0.0, -1.0, 1.0, 2.0, 3.0], y)[0] == 0.0
    assert auc([1.0, 1.0, 1.0, 1.0, 1.0], y)[0] == 0.5               # ties count half
    a, lo, hi = auc([2.0, 0.5, 1.0, 0.0, -1.0], y)
    assert a == 5 / 6 and lo <= a <= hi and 0 <= lo and hi <= 1
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    a, lo, hi = auc(x, x + rng.normal(size=400) > 0, bootstrap=300)
    assert 0.7 < lo < a < hi < 0.9
    with pytest.raises(ValueError, match="outcome must hold runs of both kinds, got 2 of 2"):
        auc([1.0, 2.0], np.array([True, True]))
    with pytest.raises(ValueError, match="boolean array of the same shape"):
        auc([1.0, 2.0], np.array([1, 0]))
