"""scripts/execute_chapters.py: the build's chapters executed into the cache that
jupyter-book (myst-nb) reads, which then executes none of them again; one at a time (the
build's default) or side by side (--jobs 2, one torch thread each)."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import FRONT_MATTER

from modadd.teaching import classroom
from tools import chapter_times

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "execute_chapters.py"


#: A chapter's code that defines two tiny runs ``cs`` (the chapters below train them).
TWO_RUNS = ("from dataclasses import replace\nfrom modadd.runs.sweep import run_sweep\n"
            "from modadd.core.model import ModelConfig\nfrom modadd.core.train import GRID_RECIPE\n"
            "cs = [replace(GRID_RECIPE, model=ModelConfig(n=7, hidden=8), seed=s) for s in (0, 1)]\n")


def chapter(code: str) -> str:
    return FRONT_MATTER + f"# A chapter\n\n```{{code-cell}} ipython3\n{code}\n```\n"


def execute(root, *args):
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), *args], capture_output=True,
                          text=True, timeout=300)


def load_script():
    spec = importlib.util.spec_from_file_location("execute_chapters", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_time_left_schedules_the_rest_on_the_free_lanes():
    script = load_script()
    time_left, progress_line = script.time_left, script.progress_line
    order, expected = ["a", "b", "c"], {"a": 100.0, "b": 60.0, "c": 30.0}
    # a and b run from 0; c waits for the first lane to free (b's, at 60): done at 90, as a
    assert time_left(order, expected, 2, {"a": 0.0, "b": 0.0}, set(), 10.0) == 90.0
    # b done at 60 and c started then: a has 30 s left, c 20 s
    assert time_left(order, expected, 2, {"a": 0.0, "b": 0.0, "c": 60.0}, {"b"}, 70.0) == 30.0
    # a chapter past its expected time counts 0, not less
    assert time_left(order, expected, 2, {"a": 0.0, "b": 0.0, "c": 60.0}, {"b"}, 200.0) == 0.0
    # one lane: everything in turn
    assert time_left(order, expected, 1, {"a": 0.0}, set(), 0.0) == 190.0
    # a chapter without a time (new since the last build): no estimate
    assert time_left(order + ["d"], expected, 2, {}, set(), 0.0) is None
    line = progress_line(95.4, order, {"a": 0.0, "b": 0.0, "c": 60.0}, {"b"}, 150.0)
    assert line == "[book] 95 s: a and c running, 1 of 3 done, about 2 min left"
    line = progress_line(300.0, order, {"a": 0.0, "b": 0.0, "c": 60.0}, {"b"}, 0.0)
    assert line == "[book] 300 s: a and c running, 1 of 3 done, past the last build's times"
    assert progress_line(5.0, order, {"a": 0.0}, set(), None) == "[book] 5 s: a running, 0 of 3 done"
    # the README and the appendix state the interval
    every = f"every {script.PROGRESS_EVERY_S} s"
    assert every in (ROOT / "README.md").read_text().replace("\n", " ")
    assert every in (ROOT / "book" / "appendix_benchmarks.md").read_text().replace("\n", " ")


def test_bad_progress_interval_is_named(tmp_path):
    r = execute(tmp_path, "--progress-every", "0")
    assert r.returncode == 2 and "--progress-every must be a number of seconds > 0, got 0.0" in r.stderr


def test_chapters_run_side_by_side_into_the_cache_myst_nb_reads(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (tmp_path / "_config.yml").write_text("execute:\n  timeout: 120\n")
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    # the last build's times (in u), from which the run says how long is left
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "build.json").write_text(json.dumps(
        {"chapter_seconds": {"01_a": 20.0, "02_b": 10.0}, "chapter_u": {"01_a": 3.0, "02_b": 1.5}}))
    (book / "01_a.md").write_text(chapter("import os, time\ntime.sleep(4)\n"
                                          "print('threads', os.environ.get('OMP_NUM_THREADS'), 'in', os.getcwd())"))
    sweep = (TWO_RUNS +
             f"run_sweep(cs, steps=3, cache_dir={str(tmp_path / 'sweeps')!r}, progress=False)\n"
             f"run_sweep(cs, steps=3, cache_dir={str(tmp_path / 'sweeps')!r}, progress=False)   # cached: trains none")
    (book / "02_b.md").write_text(chapter(sweep))
    r = execute(tmp_path, "--jobs", "2", "--progress-every", "1")
    assert r.returncode == 0, r.stderr
    assert "executing 2 chapter(s), 2 at a time (one torch thread each): 01_a, 02_b; about " in r.stdout
    # while 01_a sleeps, a line a second says what runs and about how long is left
    assert re.search(r"^\[book\] \d+ s: 01_a(?: and 02_b)? running, [01] of 2 done, "
                     r"(about \d+ (s|min) left|past the last build's times)$",
                     r.stdout, re.M), r.stdout
    a = chapter_times.chapter_record(book / "01_a.md", tmp_path)
    b = chapter_times.chapter_record(book / "02_b.md", tmp_path)
    assert a.current and b.current and (a.runs_trained, b.runs_trained) == (0, 2)
    assert a.chapters_at_once == b.chapters_at_once == 2 and a.seconds > 0
    assert a.u_seconds == b.u_seconds > 0                    # one u, measured before both
    # and each chapter's time, for the assignments' headers (classroom.chapter_run_time)
    assert json.loads((tmp_path / "_build" / "run_times.json").read_text()) == {
        "01_a": [a.seconds, a.executed.isoformat()], "02_b": [b.seconds, b.executed.isoformat()]}
    assert classroom.chapter_run_time(book / "02_b.md", tmp_path) == (b.seconds, b.executed)
    assert f"u (the plain loop, 10,000 steps) = {a.u_seconds:.2f} s" in r.stdout
    from jupyter_cache import get_cache
    cache = get_cache(tmp_path / "_build" / ".jupyter_cache")
    rec = next(r for r in cache.list_cache_records() if r.uri.endswith("01_a.md"))
    out = cache.get_cache_bundle(rec.pk).nb.cells[0].outputs[0]["text"]
    assert out.strip() == f"threads 1 in {book}"              # one thread, in the chapter's folder
    # unchanged chapters: nothing to execute
    again = execute(tmp_path)
    assert again.returncode == 0 and again.stdout == ""
    # myst-nb finds both chapters in the cache: it executes neither
    (tmp_path / "conf.py").write_text(
        "extensions = ['myst_nb']\nnb_execution_mode = 'cache'\n"
        f"nb_execution_cache_path = {str(tmp_path / '_build' / '.jupyter_cache')!r}\n"
        "exclude_patterns = ['_build']\n")
    (tmp_path / "index.md").write_text("# Book\n\n```{toctree}\nbook/01_a\nbook/02_b\n```\n")
    log = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-v", str(tmp_path), str(tmp_path / "html")],
                         capture_output=True, text=True, timeout=300)
    assert log.returncode == 0, log.stderr
    assert "Executing notebook" not in log.stdout + log.stderr
    assert (log.stdout + log.stderr).count("Using cached notebook") == 2
    assert "threads 1 in" in (tmp_path / "html" / "book" / "01_a.html").read_text()


def test_a_chapter_that_raises_fails_with_its_traceback(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "_config.yml").write_text("execute:\n  timeout: 120\n")
    (tmp_path / "book" / "01_ok.md").write_text(chapter("x = 1"))
    (tmp_path / "book" / "02_bad.md").write_text(chapter("assert 1 == 2, 'the prose lied'"))
    r = execute(tmp_path, "--no-u")                           # the default: one at a time
    assert r.returncode == 1 and "[book] u" not in r.stdout
    assert "02_bad.md FAILED" in r.stderr and "the prose lied" in r.stderr
    ok = chapter_times.chapter_record(tmp_path / "book" / "01_ok.md", tmp_path)
    assert ok.current and ok.u_seconds is None                                         # the other is kept
    assert chapter_times.chapter_record(tmp_path / "book" / "02_bad.md", tmp_path) is None
    assert list(json.loads((tmp_path / "_build" / "run_times.json").read_text())) == ["01_ok"]


def test_binder_image_build_trains_the_chapters_runs_into_the_image(tmp_path):
    """binder/postBuild, run as repo2docker runs it (from the repository, ``python`` on PATH
    the environment's): JupyterLab opens the chapters with jupytext, and every chapter was
    executed once, so its runs are in the run cache a session starts with. A chapter that
    fails is reported and the image is still built, with the other chapters' runs."""
    for rel in ("binder/postBuild", "scripts/pin_isa.sh", "scripts/execute_chapters.py"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        shutil.copy2(ROOT / rel, tmp_path / rel)
    shutil.copytree(ROOT / "tools", tmp_path / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "_config.yml").write_text("execute:\n  timeout: 120\n")
    (tmp_path / "book").mkdir()
    cache = tmp_path / "image_cache"
    sweep = (TWO_RUNS +
             "print(sum(not r.cached for r in run_sweep(cs, steps=3, progress=False)), 'trained')")
    (tmp_path / "book" / "01_sweep.md").write_text(chapter(sweep))
    (tmp_path / "book" / "02_bad.md").write_text(chapter("assert 1 == 2, 'the prose lied'"))
    env = {k: v for k, v in os.environ.items() if k != "MODADD_RUN_LOG"}
    env.update(MODADD_CACHE=str(cache), NB_PYTHON_PREFIX=str(tmp_path / "prefix"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    r = subprocess.run(["bash", str(tmp_path / "binder" / "postBuild")], cwd="/", env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    overrides = json.loads((tmp_path / "prefix/share/jupyter/lab/settings/overrides.json").read_text())
    assert overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["myst"] == "Jupytext Notebook"
    assert "02_bad.md FAILED" in r.stderr and "the prose lied" in r.stderr
    assert "its runs are not in the image" in r.stderr
    assert re.search(r"\[book\] ./2 01_sweep: \d+ s, 2 sweep runs trained", r.stdout), r.stdout
    # a session's kernel (a new process) running the chapter's code trains nothing
    session = subprocess.run([sys.executable, "-c", sweep], env=env, capture_output=True, text=True, timeout=120)
    assert session.returncode == 0, session.stderr
    assert session.stdout.strip() == "0 trained"
