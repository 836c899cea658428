"""modadd.forces.fit's honest fit: what the first layer absorbs, per family; variants chosen
on some runs and reported on others, one coefficient per force per run."""
import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from modadd import forces
from modadd.forces.fit import _pooled_fit
from modadd.core.model import Params
from small_networks import N, short_runs

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def hist():
    """3 + 3 short runs of each family, every parameter recorded."""
    return short_runs(3, steps=100)


def test_without_shift_only_the_linear_fields_are_removed():
    g = torch.Generator().manual_seed(0)
    E = torch.randn(2, 9, 2, generator=g, dtype=torch.float64)
    A = torch.tensor([[0.3, -1.2], [0.7, 0.1]], dtype=torch.float64)
    lin = E @ A.T
    shift = torch.tensor([0.5, -2.0], dtype=torch.float64).expand_as(E)
    assert torch.allclose(forces.affine_part(lin, E, shift=False), lin, atol=1e-12)
    assert torch.allclose(forces.affine_part(lin + shift, E, shift=True), lin + shift, atol=1e-12)
    kept = (lin + shift) - forces.affine_part(lin + shift, E, shift=False)
    assert kept.norm() > 0.1                                   # a shift is not linear: it stays
    with pytest.raises(ValueError, match="shift"):
        forces.affine_part(lin, E, shift="yes")


def test_fits_remove_the_shift_only_for_runs_with_biases(hist):
    for run in (0, 3):
        cfg = hist.configs[run]
        p = Params(*(x.double() for x in hist.params_at(run, 2).tensors()))
        pairs, labels, g = forces.pair_gradients(p, cfg)
        target = -forces.to_embeddings(g, pairs, N)
        basis = {"shift": torch.ones_like(target)}             # a field that is a pure shift
        _, fit = forces.fit_at(hist, run, 40, forces=("clustering",))
        free = forces.fit_forces(target, {"c": target}, p.E, shift=cfg.model.bias)
        assert np.allclose(fit.target, free.target)             # fit_at removes what the family absorbs
        left = forces.fit_forces(target, basis, p.E, shift=cfg.model.bias)
        assert (left.coefficients["shift"] == 0).all() == cfg.model.bias


def test_force_balance_is_alignment_minus_clustering_run_by_run(hist):
    """The batched balance equals the two one-run fits (fit_at) of every run, both families
    in one history."""
    bal = forces.force_balance(hist, 40)
    for run in range(len(hist.configs)):
        a = forces.fit_at(hist, run, 40, forces=("alignment",))[1].r2[0]
        c = forces.fit_at(hist, run, 40, forces=("clustering",))[1].r2[0]
        assert math.isclose(bal[run], a - c, rel_tol=1e-4, abs_tol=1e-7)   # fit_at works in float32
    assert not np.allclose(bal, bal[0])
    with pytest.raises(ValueError, match="step must be"):
        forces.force_balance(hist, -1)


def test_variant_checks_and_grid():
    v = forces.Variant()
    assert v.forces == ("clustering", "alignment") and v.label == "C+A, σ auto×1, r^0 r'^1"
    assert forces.Variant(("clustering",)).label == "C, σ auto×1"
    grid = forces.variant_grid([("clustering",), ("alignment",)], sigma_scales=(1.0, 2.0), self_powers=(0.0, 1.0))
    assert [x.label for x in grid] == ["C, σ auto×1", "C, σ auto×2", "A, r^0 r'^1", "A, r^1 r'^1"]
    with pytest.raises(ValueError, match="sigma_rule"):
        forces.Variant(sigma_rule="median")
    with pytest.raises(ValueError, match="sigma_scale"):
        forces.Variant(sigma_scale=0)
    with pytest.raises(ValueError, match="forces"):
        forces.Variant(("gravity",))
    with pytest.raises(ValueError, match="self_power"):
        forces.Variant(self_power=float("nan"))


def test_pooled_fit_recovers_a_planted_coefficient(hist):
    V = [forces.Variant(("clustering", "alignment"))]
    rf = forces.candidate_fields(hist, V, runs=[3])[0]
    assert rf.family == "biases" and rf.seed == 0
    T = int((hist.steps > 0).sum())
    assert rf.target["free"].shape == (T, 2 * N)
    # each step of every field has unit root mean square
    for x in [rf.target["raw"], *rf.fields.values()]:
        assert np.allclose(np.sqrt((x ** 2).mean(1)), 1)
    c, a = V[0].components()
    planted = replace(rf, target={"free": 2.0 * rf.fields[("true", "free", c)] - 0.5 * rf.fields[("true", "free", a)]})
    coef, r2 = _pooled_fit(planted, V[0], "true", "free")
    assert np.allclose(coef, [2.0, -0.5]) and math.isclose(r2, 1.0)
    # given coefficients: no fit, the R2 of those
    _, r2_half = _pooled_fit(planted, V[0], "true", "free", coef=np.array([1.0, -0.25]))
    assert r2_half < 1.0


def test_honest_fit_chooses_on_one_part_and_reports_on_the_other(hist):
    V = forces.variant_grid([("clustering",), ("alignment",), ("clustering", "alignment")],
                            self_powers=(0.0, 1.0))
    F = forces.candidate_fields(hist, V)
    choose, report = [f for f in F if f.seed < 2], [f for f in F if f.seed >= 2]
    hf = forces.honest_fit(choose, report, V, compare=[forces.Variant()], bootstrap=50, margin=0.0)
    assert hf.choose_seeds == (0, 1) and hf.report_seeds == (2,)
    assert set(hf.chosen) == {"no biases", "biases"}
    sel = hf.selection
    assert len(sel) == 2 * len(V) and sel.chosen.sum() == 2
    for fam, v in hf.chosen.items():                           # the chosen one has the largest lead
        s = sel[sel.family == fam]
        assert s.loc[s.lead.idxmax(), "variant"] == v.label
        # its selection numbers are the means over the choosing runs of that family
        runs = [f for f in choose if f.family == fam]
        r2 = np.mean([_pooled_fit(f, v, "true", "free")[1] for f in runs])
        assert math.isclose(s[s.chosen].r2.iloc[0], r2)
    rep = hf.report
    assert set(rep.seed) == {2} and set(rep.symmetries) == {"raw", "free"}
    for _, row in rep[rep.is_chosen].iterrows():
        v = hf.chosen[row.family]
        x = next(f for f in report if f.run == row.run)
        assert math.isclose(row.r2, _pooled_fit(x, v, "true", row.symmetries)[1])
        assert row.r2_fixed <= row.r2 + 1e-12                  # the refit is the least-squares optimum
    co = hf.coefficients
    assert set(co.labels) == {"true", "shuffled"}
    s = hf.summary
    for _, row in s.iterrows():
        g = co[(co.family == row.family) & (co.force == row.force) & (co.symmetries == row.symmetries)
               & (co.labels == row.labels)]
        assert row.runs == len(g) and row.negative == int((g.coef < 0).sum())
        assert row.lo <= row["mean"] <= row.hi and math.isclose(row["mean"], g.coef.mean())
    for fam, v in hf.chosen.items():     # strengths: the chosen law's mean coefficients on the choosing runs
        runs = [f for f in choose if f.family == fam]
        mean = np.mean([_pooled_fit(f, v, "true", "free")[0] for f in runs], 0)
        assert list(hf.strengths[fam]) == list(v.forces) and np.allclose(list(hf.strengths[fam].values()), mean)
    # parsimony: fewer forces win within the margin; a margin of 0.99 takes the best one-force law
    for margin in (forces.PARSIMONY_MARGIN, 0.99):
        hm = forces.honest_fit(choose, report, V, bootstrap=20, margin=margin)
        for fam, v in hm.chosen.items():
            s = hm.selection[hm.selection.family == fam].assign(
                n=lambda t: [len(x.split(",")[0].split("+")) for x in t.variant])
            lead = s.loc[s.variant == v.label, "lead"].iloc[0]
            assert lead >= s.lead.max() - margin
            assert not ((s.n < len(v.forces)) & (s.lead >= s.lead.max() - margin)).any()
            same = s[s.n == len(v.forces)]
            assert lead == same[same.lead >= s.lead.max() - margin].lead.max()
            if margin == 0.99:
                assert len(v.forces) == 1
    for bad in (-0.1, 1, float("nan"), "0.01", True):
        with pytest.raises(ValueError, match=r"margin must be a number in \[0, 1\), got margin="):
            forces.honest_fit(choose, report, V, margin=bad)
    with pytest.raises(ValueError, match="share seeds"):
        forces.honest_fit(F, report, V)
    with pytest.raises(ValueError, match="variants"):
        forces.honest_fit(choose, report, [])
    with pytest.raises(ValueError, match="choose"):
        forces.honest_fit([], report, V)
    with pytest.raises(ValueError, match="runs"):
        forces.candidate_fields(hist, V, runs=[9])


def test_particles_calibrated_from_the_fit(hist):
    """particles.calibrate: alignment = max(0, beta_A / beta_C) * |F_clu| / |F_ali| (symmetry-free
    sizes on the gauge-fixed configurations, median), window = the chosen law's, in spacings."""
    from modadd import particles
    from modadd.core.data import answers, unordered_pairs
    from modadd.core.model import sum_vectors
    V = forces.variant_grid([("clustering", "alignment")], sigma_scales=(1.0, 2.0), self_powers=(-1.0, 0.0))
    F = forces.candidate_fields(hist, V)
    hf = forces.honest_fit([f for f in F if f.seed < 2], [f for f in F if f.seed >= 2], V, bootstrap=20)
    # these short runs fit a negative clustering strength without biases: set strengths of our own
    hf = replace(hf, strengths={"no biases": {"clustering": 0.2, "alignment": 0.5},
                                "biases": {"clustering": 0.5, "alignment": 0.1}})
    pairs, mult = unordered_pairs(N)
    labels = answers(pairs, N)
    for fam, runs in (("no biases", [0, 1, 2]), ("biases", [3, 4, 5])):
        E = hist.embeddings[runs, 0]
        cal = particles.calibrate(hf, fam, E)
        law, beta = hf.chosen[fam], hf.strengths[fam]
        G = particles.fix_gauge(torch.from_numpy(E).double())
        w = (mult / N).double().expand(len(runs), -1)
        S = sum_vectors(G, pairs)
        sigma = law.sigma_scale * forces.auto_sigma(S, labels, weights=w)
        sizes = []
        for f in (forces.clustering_force(S, labels, sigma=sigma, weights=w),
                  forces.alignment_force(S, labels, weights=w, self_power=law.self_power,
                                         other_power=law.other_power)):
            Fe = forces.to_embeddings(f, pairs, N, w)
            free = Fe - forces.affine_part(Fe, G, shift=fam == "biases")
            sizes.append(free.square().mean((1, 2)).sqrt())
        ratio = float(torch.median(sizes[0] / sizes[1]))
        assert math.isclose(cal.field_ratio, ratio, rel_tol=1e-9)
        assert math.isclose(cal.alignment, max(0.0, beta["alignment"] / beta["clustering"]) * ratio, rel_tol=1e-9)
        assert math.isclose(cal.clustering_width, float(torch.median(sigma)) / particles.spacing(N), rel_tol=1e-9)
        assert cal.variant == law.label and cal.clustering_coef == beta["clustering"]
        # the configurations go through the particles' gauge: an affine map of them changes nothing
        moved = particles.calibrate(hf, fam, E @ np.array([[2.0, 0.5], [0.0, 1.5]]) + 3.0)
        assert math.isclose(moved.alignment, cal.alignment, rel_tol=1e-6)
        assert math.isclose(moved.clustering_width, cal.clustering_width, rel_tol=1e-6)
    wrong = replace(hf, strengths={**hf.strengths, "biases": {"clustering": -0.1, "alignment": 0.2}})
    with pytest.raises(ValueError, match="clustering strength of 'biases' is -0.1"):
        particles.calibrate(wrong, "biases", hist.embeddings[[3], 0])
    negative = replace(hf, strengths={**hf.strengths, "biases": {"clustering": 0.5, "alignment": -0.2}})
    assert particles.calibrate(negative, "biases", hist.embeddings[[3], 0]).alignment == 0.0
    with pytest.raises(ValueError, match="family"):
        particles.calibrate(hf, "neither", hist.embeddings[[3], 0])
    with pytest.raises(ValueError, match=r"\(M, n, 2\)"):
        particles.calibrate(hf, "biases", hist.embeddings[3, 0])
    with pytest.raises(ValueError, match="HonestFit"):
        particles.calibrate({"chosen": {}}, "biases", hist.embeddings[[3], 0])
    only_c = [forces.Variant(("clustering",))]
    Fc = forces.candidate_fields(hist, only_c)
    hc = forces.honest_fit([f for f in Fc if f.seed < 2], [f for f in Fc if f.seed >= 2], only_c, bootstrap=20)
    with pytest.raises(ValueError, match="needs both clustering and alignment"):
        particles.calibrate(hc, "biases", hist.embeddings[[3], 0])


def test_the_book_formation_fit_is_chapter_4s_calls(monkeypatch):
    """book.formation_fit() is the honest fit of formation_variants() on formation_runs of
    seeds 0-15 and 16-31, chosen on 0-7: checked on the calls it makes, with tiny stand-ins."""
    from modadd import book as fit
    calls = []
    monkeypatch.setattr(fit, "formation_runs", lambda seeds: calls.append(("runs", list(seeds))) or list(seeds))
    monkeypatch.setattr(fit, "candidate_fields", lambda runs, variants: [SimpleNamespace(seed=s) for s in runs])
    monkeypatch.setattr(fit, "honest_fit", lambda choose, report, variants, compare: (
        [f.seed for f in choose], [f.seed for f in report], variants, compare))
    monkeypatch.setenv("MODADD_MEMO", "0")
    choose, report, variants, compare = fit.formation_fit()
    assert calls == [("runs", list(range(16))), ("runs", list(range(16, 32)))]
    assert choose == list(range(8)) and report == list(range(8, 32))
    assert variants == fit.formation_variants() and len(variants) == 48 and compare == [forces.Variant()]
