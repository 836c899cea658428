"""Checks at the door: every argument check of the package, in one place.

The public entry points (``make_dataset``, ``RunConfig``, ``train``, the force functions,
``simulate``, the structure scores) call these once; the maths behind them (the force
kernels, the model's passes, the trainer's steps) never re-check. Each check returns the
value in the form the maths wants (an ``int``, a ``float``, a floating tensor) or raises
``ValueError`` naming the argument, the bad value and what is allowed.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch


def is_int(value) -> bool:
    """True for an integer that is not a bool (``True`` is not a count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    """True for a real number that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_n(n) -> int:
    """Return ``n`` as an int, or raise ``ValueError`` if it is not an integer >= 2."""
    if not is_int(n):
        raise ValueError(f"n must be an integer >= 2 (the modulus), got {n!r}")
    if n < 2:
        raise ValueError(f"n must be an integer >= 2 (the modulus), got n={n}")
    return int(n)


def check_seed(seed) -> int:
    """Return ``seed`` as an int, or raise ``ValueError`` if it is not a non-negative integer."""
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_val_fraction(val_fraction) -> float:
    """Return the validation fraction as a float, or raise if it is not in [0, 1)."""
    if not is_real(val_fraction):
        raise ValueError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}")
    v = float(val_fraction)
    if math.isnan(v) or not 0.0 <= v < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got val_fraction={val_fraction!r}")
    return v


def check_number(name: str, value, lo: float = 0.0, *, strict: bool = False,
                 allow_none: bool = False) -> float | None:
    """``value`` as a float: finite and ``>= lo`` (``> lo`` when ``strict``); None passes
    through when ``allow_none``."""
    if value is None and allow_none:
        return None
    if not is_real(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {name}={value!r}")
    if value < lo or (value == lo and strict):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {lo}, got {name}={value!r}")
    return float(value)


def check_finite(name: str, value) -> float:
    """``value`` as a float, any finite real number."""
    if not is_real(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {name}={value!r}")
    return float(value)


def check_int(name: str, value, lo: int = 0) -> int:
    """``value`` as an int ``>= lo``."""
    if not is_int(value) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {name}={value!r}")
    return int(value)


def check_positive_int(name: str, value) -> int:
    """``value`` as an int ``>= 1``."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {name}={value!r}")
    return int(value)


def check_non_negative_int(name: str, value) -> int:
    """``value`` as an int ``>= 0``."""
    if not is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {name}={value!r}")
    return int(value)


def check_range(name: str, value, lo, hi, *, integer: bool = False, open_hi: bool = False):
    """``value`` as an int (``integer``) or a float in the closed range [lo, hi] (half-open
    [lo, hi) when ``open_hi``)."""
    ok = is_real(value) and math.isfinite(value) and (not integer or float(value).is_integer())
    if not ok or not lo <= value <= hi or (open_hi and value == hi):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} in [{lo}, {hi}{')' if open_hi else ']'}, got {name}={value!r}")
    return int(value) if integer else float(value)


def check_choice(name: str, value, allowed: tuple):
    """``value`` itself, if it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {name}={value!r}")
    return value


def check_bool(name: str, value) -> bool:
    """``value`` itself, if it is True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {name}={value!r}")
    return value


def check_unit_interval(name: str, value) -> float:
    """``value`` as a float in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


# ---------------------------------------------------------------------------- tensors


def check_tensor(name: str, x, ndim_options: tuple, last: int | None = 2) -> torch.Tensor:
    """``x`` as a floating tensor with one of the allowed numbers of axes, last axis ``last``,
    and only finite entries (integer input becomes float64)."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch tensor or numpy array, got {type(x).__name__}")
    if not x.is_floating_point():
        x = x.double()
    if x.ndim not in ndim_options or (last is not None and x.shape[-1] != last):
        want = " or ".join(f"{k} axes" for k in ndim_options)
        raise ValueError(f"{name} must have {want} with last axis {last}, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x


def check_labels(labels, U: int) -> torch.Tensor:
    """The answers of U pairs: an integer tensor of shape (U,)."""
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.shape != (U,):
        shape = tuple(labels.shape) if hasattr(labels, "shape") else type(labels).__name__
        raise ValueError(f"labels must be an integer tensor of shape (U,) = ({U},), got {shape}")
    return labels


def check_label_vector(labels) -> torch.Tensor:
    """Any 1-D integer tensor of answers."""
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or labels.is_floating_point():
        raise ValueError(f"labels must be a 1-D integer tensor, got {labels!r:.60}")
    return labels


def check_pair_weights(weights, M: int, U: int, dtype) -> torch.Tensor:
    """Weights per pair, (U,) or (M, U), >= 0, as an (M, U) tensor; None means all 1."""
    if weights is None:
        return torch.ones(M, U, dtype=dtype)
    w = check_tensor("weights", weights, (1, 2), last=U).to(dtype)
    if (w < 0).any():
        raise ValueError(f"weights must be >= 0, got a minimum of {w.min().item():g}")
    w = w.expand(M, U) if w.ndim == 1 or w.shape[0] == 1 else w
    if w.shape != (M, U):
        raise ValueError(f"weights must have shape (U,) or (M, U) = ({M}, {U}), got {tuple(weights.shape)}")
    return w


def check_pairs(pairs, U: int, n) -> int:
    """Pairs (U, 2) of indices below ``n``; returns ``n`` as an int."""
    if not isinstance(pairs, torch.Tensor) or pairs.shape != (U, 2):
        raise ValueError(f"pairs must be a (U, 2) = ({U}, 2) integer tensor, got "
                         f"{tuple(pairs.shape) if hasattr(pairs, 'shape') else pairs!r}")
    if not is_int(n) or n < 1 or int(pairs.max()) >= n or int(pairs.min()) < 0:
        raise ValueError(f"n must be an integer larger than every index in pairs, got n={n!r}")
    return int(n)


def check_field(name: str, F, M: int, n: int) -> torch.Tensor:
    """A field on the embeddings, (n, 2) or (1 or M, n, 2), as an (M, n, 2) float64 tensor."""
    F = check_tensor(name, F, (2, 3))
    if F.ndim == 2:
        F = F.unsqueeze(0)
    if F.shape[1] != n or F.shape[0] not in (1, M):
        raise ValueError(f"{name} must have shape (n, 2) or (M, n, 2) = ({M}, {n}, 2), got {tuple(F.shape)}")
    return F.double().expand(M, n, 2)


def check_scales(name: str, value, M: int, dtype) -> torch.Tensor:
    """A number > 0, or M of them, as an (M,) tensor."""
    if is_real(value):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {name}={value!r}")
        return torch.full((M,), float(value), dtype=dtype)
    if isinstance(value, (torch.Tensor, np.ndarray)):
        s = torch.as_tensor(value, dtype=dtype).reshape(-1)
        if s.numel() == 1:
            s = s.expand(M)
        if s.shape != (M,) or not torch.isfinite(s).all() or (s <= 0).any():
            raise ValueError(f"{name} must hold M={M} finite values > 0, got {value!r}")
        return s
    raise ValueError(f"{name} must be None, 'auto', a number > 0 or an (M,) tensor, got {name}={value!r}")


def check_per_system(name: str, value, M: int, lo: float = 0.0) -> torch.Tensor:
    """A number >= lo, or one per system, as an (M,) float64 tensor."""
    if is_real(value):
        return torch.full((M,), check_number(name, value, lo), dtype=torch.float64)
    vals = [check_number(f"{name}[{i}]", v, lo) for i, v in enumerate(np.asarray(value, dtype=object).reshape(-1))]
    if M == 1 and len(vals) > 1:
        raise ValueError(f"{name} lists {len(vals)} values: give one seed per system, e.g. seed=range({len(vals)})")
    if len(vals) not in (1, M):
        raise ValueError(f"{name} must be a number or one per system (M={M}), got {len(vals)} values")
    return torch.tensor(vals * (M if len(vals) == 1 else 1), dtype=torch.float64)


def check_record_steps(steps, record_every) -> list[int]:
    """The sorted steps to record out of ``steps``: every ``record_every``-th, or the listed
    ones; 0 and ``steps`` always."""
    if not is_int(steps) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got steps={steps!r}")
    if is_int(record_every):
        if record_every < 1:
            raise ValueError(f"record_every must be a positive integer or a list of steps, got {record_every!r}")
        rec = set(range(0, steps + 1, int(record_every)))
    else:
        rec = set(int(s) for s in record_every)
        bad = [s for s in rec if not 0 <= s <= steps]
        if bad:
            raise ValueError(f"recorded steps must lie in [0, steps={steps}], got {sorted(bad)}")
    rec |= {0, int(steps)}
    return sorted(rec)


def check_betas(betas) -> tuple[float, float]:
    """Adam's (beta1, beta2), each in [0, 1)."""
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got betas={betas!r}")
    for b in betas:
        check_number("betas", b)
        if not b < 1:
            raise ValueError(f"betas must lie in [0, 1), got betas={betas!r}")
    return betas


def check_same(name: str, values) -> None:
    """All values equal (``name`` says what must be shared)."""
    vals = set(values)
    if len(vals) > 1:
        raise ValueError(f"all runs in a batch must share {name}, got {sorted(vals)}")


def check_instances(name: str, items, cls) -> list:
    """One ``cls`` instance or a non-empty list of them, as a list."""
    if isinstance(items, cls):
        return [items]
    items = list(items)
    if not items or not all(isinstance(c, cls) for c in items):
        raise ValueError(f"{name} must be a {cls.__name__} or a non-empty list of {cls.__name__}")
    return items


def check_positions(name: str, start, n: int, M: int) -> torch.Tensor:
    """Positions (n, 2) or (1 or M, n, 2), finite and not all at one point, as a float64
    (M, n, 2) copy."""
    if isinstance(start, np.ndarray):
        start = torch.from_numpy(start)
    if not isinstance(start, torch.Tensor):
        raise ValueError(f"{name} must be an (n, 2) or (M, n, 2) array, got {type(start).__name__}")
    start = start.detach().to(torch.float64)
    if start.ndim == 2:
        start = start.unsqueeze(0)
    if start.ndim != 3 or start.shape[1:] != (n, 2) or start.shape[0] not in (1, M):
        raise ValueError(f"{name} must have shape (n, 2) or (M, n, 2) = ({M}, {n}, 2), got {tuple(start.shape)}")
    if not torch.isfinite(start).all():
        raise ValueError(f"{name} contains NaN or inf")
    start = start.expand(M, n, 2).clone()
    spread = (start - start.mean(1, keepdim=True)).abs().amax((1, 2))
    if (spread <= 1e-12 * start.abs().amax((1, 2)).clamp_min(1e-300)).any():
        raise ValueError(f"{name} has all particles at one point; there is no shape to evolve")
    return start


def check_seeds(seed) -> list[int]:
    """One seed or a non-empty sequence of them, as a list of ints >= 0."""
    seeds = [seed] if is_int(seed) else list(seed)
    if not seeds:
        raise ValueError("seed must be an integer or a non-empty sequence of integers, got an empty sequence")
    return [check_int(f"seed[{i}]" if len(seeds) > 1 else "seed", s, 0) for i, s in enumerate(seeds)]
