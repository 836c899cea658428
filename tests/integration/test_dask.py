"""Sweeps on a Dask cluster (python -m modadd sweep --workers/--scheduler).

Every cluster here is on loopback (127.0.0.1) and is started and stopped by the test
itself: a LocalCluster of worker processes, or ``dask scheduler`` and ``dask worker``
processes ended by their PIDs. Each worker trains with one torch thread, so two workers
share this machine's two cores. The runs are small (N = 17, a few hundred steps).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from modadd.runs import sweep
from modadd.__main__ import main
from modadd.runs.cluster import CONNECT_TIMEOUT_S, ClusterError, DaskExecutor
from modadd.runs.sweep import run_key
from modadd.core.train import GRID_RECIPE, sweep_configs

pytestmark = pytest.mark.slow              # about a minute in all: clusters take seconds to start

DASK = str(Path(sys.executable).with_name("dask"))
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
           PYTHONUNBUFFERED="1")
STEPS = 300
#: 6 runs of N = 17; seed 5 with a learning rate far too large diverges (its row says so)
CONFIGS = sweep_configs(GRID_RECIPE, seeds=range(5)) + [replace(GRID_RECIPE, seed=5, lr=1e30)]


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "modadd", "sweep", *args], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def summary(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("trained "))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The in-process sweep of CONFIGS: its table as CSV text, and that of its first five
    runs (the ones that do not diverge) alone."""
    d = tmp_path_factory.mktemp("reference")
    res = sweep.run_sweep(CONFIGS, STEPS, cache_dir=d / "cache", batch_size=1, progress=False)
    assert [r.error is not None for r in res] == [False] * 5 + [True]
    assert "seed=5, lr=1e+30" in res[5].error
    return {"all": table_csv(res, d / "t.csv"), "first5": table_csv(res[:5], d / "t5.csv")}


def table_csv(results, path) -> str:
    sweep.results_table(results).to_csv(path, index=False)
    return Path(path).read_text()


def stop(proc: subprocess.Popen) -> None:
    """End a process this test started, by its PID."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


@contextmanager
def dask_processes(tmp_path, workers=2):
    """``dask scheduler`` and ``workers`` ``dask worker`` processes (no nanny, one thread each)
    on 127.0.0.1; yields (address, worker processes); stops them all by PID."""
    procs = []
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    try:
        sched_file = tmp_path / "scheduler.json"
        procs.append(subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)], env=ENV, stdout=subprocess.DEVNULL,
            stderr=(logs / "scheduler.log").open("w")))
        deadline = time.monotonic() + 90
        while not sched_file.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (logs / "scheduler.log").read_text()
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        ws = [subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                "--host", "127.0.0.1", "--name", f"w{i}"], env=ENV, stdout=subprocess.DEVNULL,
                               stderr=(logs / f"worker{i}.log").open("w")) for i in range(workers)]
        procs += ws
        from distributed import Client
        with Client(address, set_as_default=False) as c:
            c.wait_for_workers(workers, timeout=90)
        yield address, ws
    finally:
        for p in reversed(procs):
            stop(p)


def test_local_cluster_gives_the_in_process_table_and_a_rerun_trains_nothing(tmp_path, reference):
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as lc, Client(lc, set_as_default=False) as client:
        pids = list(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids          # two worker processes
        assert set(client.run(lambda: __import__("torch").get_num_threads()).values()) == {1}
        res = sweep.run_sweep(CONFIGS, STEPS, cache_dir=tmp_path / "c", batch_size=1, progress=False,
                              executor=DaskExecutor(client))
        assert table_csv(res, tmp_path / "t.csv") == reference["all"]   # same numbers, bit for bit
        assert not any(r.cached for r in res)
        trained = []
        again = sweep.run_sweep(CONFIGS, STEPS, cache_dir=tmp_path / "c", batch_size=1, progress=False,
                                executor=DaskExecutor(client), on_batch=trained.append)
        assert trained == [] and all(r.cached for r in again)
        assert table_csv(again, tmp_path / "t2.csv") == reference["all"]
        # Dask's own executor, without our version checks: the sweep takes any Executor
        plain = sweep.run_sweep(CONFIGS, STEPS, cache_dir=tmp_path / "c3", batch_size=1, progress=False,
                                executor=client.get_executor())
        assert not any(r.cached for r in plain) and table_csv(plain, tmp_path / "t3.csv") == reference["all"]
    for pid in pids:                                                # the workers are gone
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_command_line_with_local_workers(tmp_path, reference):
    args = ["--recipe", "grid", "--seeds", "5", "--steps", str(STEPS), "--batch-size", "1",
            "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "t.csv"), "--workers", "2"]
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    assert summary(r.stdout) == "trained 5 runs, loaded 0 from cache"
    lines = r.stdout.splitlines()
    assert lines[lines.index("trained 5 runs, loaded 0 from cache") + 1].startswith(f"5 runs -> {tmp_path / 't.csv'}; classes: ")
    assert (tmp_path / "t.csv").read_text() == reference["first5"]   # same batches, same numbers
    again = cli(*args)
    assert again.returncode == 0, again.stderr
    assert summary(again.stdout) == "trained 0 runs, loaded 5 from cache"


def test_killing_a_worker_mid_sweep_still_completes_the_table(tmp_path, reference):
    from distributed import Client
    with dask_processes(tmp_path) as (address, workers), Client(address, set_as_default=False) as client:
        pid_of = client.run(os.getpid)                              # worker address -> PID
        assert sorted(pid_of.values()) == sorted(p.pid for p in workers)
        killed = []

        def kill_a_busy_worker(done):
            if killed:
                return
            busy = [w for w, keys in client.processing().items() if keys]
            assert busy, "a worker has a task when the first batch comes back"
            os.kill(pid_of[busy[0]], signal.SIGKILL)
            killed.append(busy[0])
        res = sweep.run_sweep(CONFIGS, STEPS, cache_dir=tmp_path / "c", batch_size=1, progress=False,
                              executor=DaskExecutor(client), on_batch=kill_a_busy_worker)
        assert killed and [p.poll() for p in workers].count(None) == 1   # one worker is dead
        assert table_csv(res, tmp_path / "t.csv") == reference["all"]


def test_an_unreachable_scheduler_fails_fast_and_names_it(tmp_path):
    with socket.socket() as s:                                      # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    t0 = time.monotonic()
    r = cli("--seeds", "1", "--steps", "10", "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "t.csv"),
            "--scheduler", address, "--connect-timeout", "1", timeout=120)
    took = time.monotonic() - t0
    assert r.returncode == 1 and took < 20, (r.returncode, took)
    assert f"error: cannot reach the Dask scheduler at {address} within 1 s" in r.stderr
    assert "Traceback" not in r.stderr
    assert CONNECT_TIMEOUT_S == 10            # without --connect-timeout: the default the help states


def test_an_interrupted_client_keeps_what_it_received(tmp_path, reference):
    # 40 runs (about 15 s of work on two workers): the interrupt lands mid-sweep even on a
    # fast machine (with 5 runs, all had finished before the Ctrl-C once)
    cache = tmp_path / "c"
    runs = 40
    args = ["--recipe", "grid", "--seeds", str(runs), "--steps", str(STEPS), "--batch-size", "1",
            "--cache", str(cache), "--out", str(tmp_path / "t.csv")]
    with dask_processes(tmp_path) as (address, _):
        # Ctrl-C reaches the sweep even when pytest itself runs in the background, where the
        # shell starts it with SIGINT ignored (and Python keeps an ignored SIGINT ignored)
        p = subprocess.Popen([sys.executable, "-m", "modadd", "sweep", *args, "--scheduler", address],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120
        while not list(cache.glob("runs/*.pt")) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
        os.kill(p.pid, signal.SIGINT)                               # Ctrl-C after the first result
        out, err = p.communicate(timeout=60)
        assert p.returncode == 130, (out, err)
        assert "interrupted: the runs finished so far are cached" in err
        # each finished run leaves its own file and its 100-step prefix's (sweep.PREFIX_STEPS)
        keys = {run_key(c, STEPS) for c in sweep_configs(GRID_RECIPE, seeds=range(runs))}
        kept = len(keys & {p.stem for p in cache.glob("runs/*.pt")})
        assert 1 <= kept < runs, kept
        again = cli(*args, "--scheduler", address)
    assert again.returncode == 0, again.stderr
    assert summary(again.stdout) == f"trained {runs - kept} runs, loaded {kept} from cache"
    table = (tmp_path / "t.csv").read_text().splitlines()
    assert len(table) == runs + 1
    assert table[:6] == reference["first5"].splitlines()     # seeds 0-4: the in-process rows


LET_GO = """
import sys
from concurrent.futures import as_completed
from distributed import LocalCluster
from modadd.runs.cluster import DaskExecutor

def nap(k):
    import time
    time.sleep(0.05 * k)
    return k

if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as lc:
        for trial in range(int(sys.argv[1])):   # what an interrupted sweep does, many times over
            ex = DaskExecutor(lc.scheduler_address)
            tasks = [ex.submit(nap, k) for k in range(1, 30)]
            next(as_completed(tasks))           # the first result arrives; then Ctrl-C:
            for t in tasks:
                t.cancel()                      # the sweep cancels what is pending
            ex.shutdown()                       # and lets go of the cluster
    print("let go", trial + 1)
"""


def test_a_client_that_lets_go_mid_sweep_exits(tmp_path):
    # Python waits at exit for Dask's callback thread. The executor's callback once waited for
    # a result on a connection being closed, so an interrupted sweep printed its message and
    # then never exited (CI, stop 46). Here that happened within the first 20 let-gos of a
    # client in each of several tries. Every let-go must leave nothing to wait for.
    script = tmp_path / "let_go.py"
    script.write_text(LET_GO)
    p = subprocess.run([sys.executable, str(script), "30"], capture_output=True, text=True, env=ENV,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "let go 30"


def test_a_version_mismatch_is_reported(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as lc, Client(lc, set_as_default=False) as client:
        theirs = sweep.code_hash()                                             # the workers' code
        monkeypatch.setattr(sweep, "code_hash", lambda: "0123456789abcdef")   # this client's code differs
        with pytest.raises(ClusterError, match=r"version mismatch .*\n.*modadd training code: client "
                                               rf"0123456789abcdef, worker {theirs}$"):
            sweep.run_sweep(CONFIGS[:2], STEPS, cache_dir=tmp_path, progress=False, executor=DaskExecutor(client))
    assert list(tmp_path.rglob("*.pt")) == []


def _raise(kind: str):
    raise {"timeout": TimeoutError, "value": ValueError}[kind](f"a {kind} inside the task")


def test_a_task_that_fails_on_the_cluster_is_reported():
    # the executor waits for results in short waits and retries on TimeoutError: a task that
    # itself raises TimeoutError must still be reported, not waited for again
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as lc, Client(lc, set_as_default=False) as client:
        ex = DaskExecutor(client)
        for kind, name in [("timeout", "TimeoutError"), ("value", "ValueError")]:
            with pytest.raises(ClusterError, match=rf"^a task failed on the cluster: {name}: a {kind} inside"):
                ex.submit(_raise, kind).result(timeout=60)
        assert ex.submit(abs, -3).result(timeout=60) == 3          # and the executor still works
        late = ex.submit(_nap_then, 2.0)
        ex.shutdown()                           # a given Client stays open: its results still arrive
        assert late.result(timeout=60) == 2.0


def _nap_then(s: float) -> float:
    time.sleep(s)
    return s
