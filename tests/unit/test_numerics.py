"""Subnormal floats are flushed on every thread while modadd computes, so a run's bits do not
depend on the thread count or on its batch. Each case runs in a fresh Python process with two
torch threads: whether PyTorch's worker threads flush is fixed when the process starts them."""
import functools
import os
import subprocess
import sys
import textwrap

import pytest

ENV = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")

# A subnormal float32 spread over 2^20 elements (PyTorch shares that out among its threads),
# times 2^30: 0 where the thread computing it flushes, about 1e-30 where it does not.
PROBE = textwrap.dedent("""
    import warnings, torch
    TINY = torch.full((1,), 1e-39)           # made before any flushing is set
    def unflushed():
        return int(torch.count_nonzero(TINY.expand(1 << 20) * 2.0 ** 30))
""")


def run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE + textwrap.dedent(code)], env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return eval(out.stdout.strip().splitlines()[-1])


def test_torch_alone_flushes_only_on_the_calling_thread():
    """The defect this module exists for: with workers started first, set_flush_denormal
    leaves about half the elements (the worker's share) unflushed."""
    r = run("""
        torch.ones(1 << 20).mul_(2)          # torch starts its worker threads
        torch.set_flush_denormal(True)
        print({"unflushed": unflushed(), "threads": torch.get_num_threads()})
    """)
    assert r["threads"] == 2
    assert 0 < r["unflushed"] < 1 << 20


def test_every_thread_flushes_inside_flush_subnormals():
    r = run("""
        from modadd.core.numerics import flush_subnormals, workers_flush
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with flush_subnormals():
                inside, threads = unflushed(), torch.get_num_threads()
        print({"inside": inside, "threads": threads, "workers_flush": workers_flush()})
    """)
    assert r == {"inside": 0, "threads": 2, "workers_flush": True}


def test_workers_started_before_modadd_fall_back_to_one_thread_and_say_so():
    r = run("""
        torch.ones(1 << 20).mul_(2)          # torch work before modadd is imported
        from modadd.core.numerics import flush_subnormals, workers_flush
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with flush_subnormals():
                inside, threads = unflushed(), torch.get_num_threads()
        print({"inside": inside, "threads": threads, "after": torch.get_num_threads(),
               "workers_flush": workers_flush(), "warned": [str(w.message)[:40] for w in caught]})
    """)
    assert r["workers_flush"] is False
    assert r["inside"] == 0 and r["threads"] == 1 and r["after"] == 2
    assert r["warned"] == ["PyTorch's worker threads were started be"]


TRAIN_40 = """
    {pre}
    import hashlib, warnings
    warnings.simplefilter("ignore")
    from modadd.core.train import GRID_RECIPE, sweep_configs, train
    {threads}
    h = train(sweep_configs(GRID_RECIPE, seeds=range(40)), steps=300, record_every=300,
              progress=False)
    print(repr(hashlib.sha256(h.final.E.numpy().tobytes()).hexdigest()))
"""


@functools.lru_cache(maxsize=1)
def one_thread_reference() -> str:
    """The bits of 40 runs trained in a process with one torch thread (computed once)."""
    return run(TRAIN_40.format(pre="", threads="torch.set_num_threads(1)"))


@pytest.mark.parametrize("first", ["modadd", "torch work"])
def test_training_gives_the_same_bits_either_way(first):
    """The fallback (one thread) and the normal path (two flushing threads) train the same
    bits, compared with a one-thread reference process."""
    pre = "torch.ones(1 << 20).mul_(2)" if first == "torch work" else ""
    assert run(TRAIN_40.format(pre=pre, threads="")) == one_thread_reference()


def _isa_env():
    return {k: v for k, v in ENV.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA")}


def test_importing_modadd_pins_the_instruction_set_before_torch_computes():
    """modadd.PINNED_ISA is set by the import itself (a shell that sets nothing still gets
    AVX2 arithmetic, where the CPU has it), and scripts/pin_isa.sh sets the same values."""
    code = ("import torch, modadd, os; torch.ones(3).add_(1); "
            "print({'isa': torch.backends.cpu.get_cpu_capability(), "
            "'env': {k: os.environ.get(k) for k in modadd.PINNED_ISA}, 'pinned': modadd.PINNED_ISA})")
    out = subprocess.run([sys.executable, "-c", code], env=_isa_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r = eval(out.stdout.strip().splitlines()[-1])
    assert r["env"] == r["pinned"] == {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    if " avx2" in flags:
        assert r["isa"] == "AVX2"
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    script = open(os.path.join(root, "scripts", "pin_isa.sh")).read()
    for k, v in r["pinned"].items():
        assert f"export {k}={v}" in script


def test_torch_that_computed_before_modadd_with_a_wider_isa_is_named():
    """Torch told to use AVX-512 before modadd is imported: modadd cannot change it, and says so
    (on a CPU without AVX-512 torch falls back to AVX2 and nothing is said)."""
    code = ("import warnings, torch; torch.ones(3).add_(1); isa = torch.backends.cpu.get_cpu_capability()\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always'); import modadd.core.numerics\n"
            "print({'isa': isa, 'warned': [str(x.message) for x in w if 'AVX2 as the book does' in str(x.message)]})")
    out = subprocess.run([sys.executable, "-c", code], env=dict(_isa_env(), ATEN_CPU_CAPABILITY="avx512"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r = eval(out.stdout.strip().splitlines()[-1])
    assert bool(r["warned"]) == r["isa"].startswith("AVX512"), r
    if r["warned"]:
        assert r["isa"] in r["warned"][0] and "ATEN_CPU_CAPABILITY=avx2" in r["warned"][0]


def test_check_isa_names_a_wider_isa_and_keeps_quiet_about_avx2(monkeypatch):
    """The warning's branch on every machine (a CPU without AVX-512 never takes it for real)."""
    import warnings

    import torch

    from modadd.core import numerics
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512_BF16")
    with pytest.warns(RuntimeWarning, match=r"PyTorch computes with AVX512_BF16, not AVX2 as the book does .*"
                                             r"ATEN_CPU_CAPABILITY=avx2"):
        assert numerics.check_isa() == "AVX512_BF16"
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert numerics.check_isa() == "AVX2"
