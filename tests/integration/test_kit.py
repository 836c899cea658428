"""The course kit (issue 21, ``tools/kit.py``): built as the site builds it, installed into a
NEW virtual environment by its README's commands only, its notebooks executed outside the
repository. One virtual environment serves the whole module (installing it is the cost).

Heavy: run under the CPU lock (``flock /tmp/cpu.lock``), like every test that trains.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest

import modadd
from tools import kit
from shell import clean_env

ROOT = Path(__file__).resolve().parents[2]
BUILD_ONLY = {"jupyter-book", "sphinx-exercise", "sphinx-togglebutton", "nbval", "pytest", "playwright"}
TIMINGS: dict[str, float] = {}
BUILT_ID: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _print_timings():
    """What this module measured, printed at its end (pytest -s shows it)."""
    yield
    for k, v in TIMINGS.items():
        print(f"[kit] {k}: {v:.1f}")


def _pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file (its own parse, not tools.kit's)."""
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


# ---------------------------------------------------------------- the kit, as the site builds it
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    t = time.perf_counter()
    before = modadd.build_id()
    written = kit.write_notebooks(d / "notebooks")
    zip_path = kit.build_kit(d / "kit", d / "notebooks")
    TIMINGS["write notebooks + build kit (s)"] = time.perf_counter() - t
    assert modadd.build_id() == before, "src/modadd changed while the kit was built: run again"
    BUILT_ID.append(before)
    return zip_path, written


def built_id() -> str:
    """The working tree's build id when the kit was built (the tree may change later)."""
    return BUILT_ID[0]


@pytest.fixture(scope="module")
def unpacked(built, tmp_path_factory):
    reader = tmp_path_factory.mktemp("reader")             # a reader's folder, not the repository
    assert ROOT not in reader.resolve().parents
    with zipfile.ZipFile(built[0]) as z:
        z.extractall(reader)
    return reader / kit.KIT_FOLDER


def readme_commands(folder: Path) -> list[str]:
    """The README's commands: its indented code lines, in order."""
    return [line.strip() for line in (folder / "README.md").read_text().splitlines()
            if line.startswith("       ") and line.strip()]


def reader_env(folder: Path) -> dict[str, str]:
    """A reader's shell: no trace of this repository or its .venv, a HOME of their own."""
    return clean_env(folder.parent / "home")


def sh(command: str, folder: Path, timeout=1800) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=folder, env=reader_env(folder),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def venv(unpacked):
    """The README's first command, run in the unpacked kit, in a clean environment."""
    commands = readme_commands(unpacked)
    assert len(commands) == 2, commands
    t = time.perf_counter()
    r = sh(commands[0], unpacked)
    TIMINGS["README command 1: new venv + install (s)"] = time.perf_counter() - t
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (unpacked / ".venv" / "bin" / "python").exists()
    return unpacked / ".venv"


def venv_python(venv: Path, code: str) -> str:
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=venv.parent,
                       env=reader_env(venv.parent), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.strip()


RUN_CELLS = """
import json, sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
json.dump([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"], sys.stdout)
"""


def run_cells(venv: Path, sources: list[str], tmp: Path) -> list[list[dict]]:
    """Execute code cells with nbclient in the kit's environment; their outputs."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    path = tmp / "cells.ipynb"
    nbformat.write(nb, path)
    r = subprocess.run([str(venv / "bin" / "python"), "-c", RUN_CELLS, str(path)], cwd=tmp,
                       env=reader_env(venv.parent), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def code_cells(path: Path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


# ---------------------------------------------------------------- contents, no environment needed
def test_kit_holds_wheel_every_notebook_pins_and_readme(built):
    zip_path, written = built
    with zipfile.ZipFile(zip_path) as z:
        names = {n.split("/", 1)[1] for n in z.namelist()}
    stems = [p.stem for p in kit.kit_chapters()]
    assert stems[:7] == ["01_modular_addition", "02_tiny_transformer", "03_grids_and_circles",
                         "04_clustering_and_alignment", "05_particles", "06_weight_decay", "07_rebuild"]
    assert {f"notebooks/{s}.ipynb" for s in stems} <= names
    assert {f"notebooks/student/{s}.ipynb" for s in stems} <= names      # every chapter has exercises
    assert {"README.md", "requirements.txt", kit.wheel_name()} <= names
    assert len([n for n in names if n.endswith(".whl")]) == 1
    assert len(written) == len([n for n in names if n.endswith(".ipynb")])


def test_student_kit_holds_no_solution(built):
    """Neither a chapter notebook nor an assignment in the student kit holds an exercise's
    answer code, model answer or hidden test; the chapters keep everything else."""
    import jupytext

    from modadd.teaching import classroom
    zip_path, _ = built
    with zipfile.ZipFile(zip_path) as z:
        notebooks = {n: nbformat.reads(z.read(n).decode(), as_version=4) for n in z.namelist() if n.endswith(".ipynb")}
    assert len(notebooks) >= 12
    answers = []                                   # each solution's code lines and model answers' first words
    for ch in classroom.assignments():
        for c in jupytext.read(ch).cells:
            if c.cell_type == "code" and classroom.BEGIN in c.source:
                body = c.source.split(classroom.BEGIN)[1].split(classroom.END)[0]
                answers += [line.strip() for line in body.splitlines() if len(line.strip()) > 12]
            for m in classroom._SOLUTION_BLOCK.finditer(c.source) if c.cell_type == "markdown" else []:
                answers.append(m.group(3).strip()[:50])
    assert len(answers) >= 20
    for name, nb in notebooks.items():
        text = "\n".join(c.source for c in nb.cells)
        assert "{glue" not in text, name                     # MyST markup is raw text in a notebook
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "{solution" not in text, name
        leaked = [a for a in answers if a in text]
        assert not leaked, (name, leaked[:3])
    # the chapters are whole otherwise: the first chapter's naive split and its exercises' stubs
    first = "\n".join(c.source for c in notebooks[f"{kit.KIT_FOLDER}/notebooks/01_modular_addition.ipynb"].cells)
    assert "held_out = rng.random(N * N) < 0.2" in first and "def leak_fraction(held_out, N):" in first
    assert "raise NotImplementedError()" in first and "checks.check_leak_fraction(leak_fraction)" in first


def test_teacher_kit_holds_the_solutions_and_nbgraders_source(tmp_path):
    """Every chapter in full (no MyST glue markup left) and each assignment's source; the
    two wheels and the pins with nbgrader's."""
    import jupytext

    from modadd.teaching import classroom
    written = kit.write_teacher_notebooks(tmp_path / "teacher")
    zip_path = kit.build_teacher_kit(tmp_path / "kit", tmp_path / "teacher")
    with zipfile.ZipFile(zip_path) as z:
        names = {n.split("/", 1)[1] for n in z.namelist()}
    stems = [p.stem for p in kit.kit_chapters()]
    assert {f"notebooks/{s}.ipynb" for s in stems} | {f"source/{s}/{s}.ipynb" for s in stems} \
        | {"README.md", "requirements.txt", kit.wheel_name(), kit.course_wheel_name()} == names
    assert len(written) == 2 * len(stems)
    first = nbformat.read(tmp_path / "teacher" / "notebooks" / "01_modular_addition.ipynb", as_version=4)
    text = "\n".join(c.source for c in first.cells)
    assert "{glue" not in text and "### BEGIN SOLUTION" in text and "```{solution} ex-count-pairs" in text
    source = nbformat.read(tmp_path / "teacher" / "source" / "01_modular_addition" / "01_modular_addition.ipynb",
                           as_version=4)
    assert kit.CHECK_TAG in source.cells[1].metadata.get("tags", [])
    assert [c.source for c in source.cells[2:]] == [c.source for c in classroom.student_notebook(
        classroom.REPO_ROOT / "book" / "01_modular_addition.md", solutions=True).cells[1:]]
    with zipfile.ZipFile(zip_path) as z:
        pins = z.read(f"{kit.TEACHER_FOLDER}/requirements.txt").decode()
    assert all(pin in pins.splitlines() for pin in kit.runtime_pins() + kit.teacher_pins())
    assert "nbgrader==0.9.6" in kit.teacher_pins() and "jupyterlab==4.3.5" in kit.runtime_pins()


def test_binder_and_kit_install_the_same_pins(unpacked):
    kit_pins = _pins(unpacked / "requirements.txt")
    binder = _pins(ROOT / "binder" / "requirements.txt")
    assert kit_pins == binder and len(kit_pins) >= 10
    # the book's own pins: where requirements.txt pins a package too, the version is the same
    book = _pins(ROOT / "requirements.txt")
    assert {k: v for k, v in kit_pins.items() if k in book} == {k: book[k] for k in kit_pins if k in book}
    assert kit_pins["torch"] == "2.13.0"
    # myst-nb (the chapters' glue) comes with jupyter-book: the kit has the version the book runs
    assert kit_pins["myst-nb"] == importlib.metadata.version("myst-nb")
    assert not BUILD_ONLY & set(kit_pins), "the kit installs what the notebooks need, not the build"
    # every pinned package is one the notebooks or modadd import, or the front end that runs them
    assert {"numpy", "plotly", "pandas", "ipywidgets", "anywidget", "tqdm", "ipykernel", "jupyterlab"} <= set(kit_pins)


def test_every_downloaded_notebook_starts_with_the_check(built):
    for path in built[1]:
        cells = code_cells(path)
        assert kit.CHECK_TAG in cells[0].metadata.get("tags", []), path
        assert f"needed={built_id()!r}" in cells[0].source, path
        assert sum(kit.CHECK_TAG in c.metadata.get("tags", []) for c in cells) == 1
        later = "\n".join(c.source for c in cells[1:])
        for reads_the_repository in ("REPO_ROOT", "_build", "benchmarks/", "book/", "../"):
            assert reads_the_repository not in later, (path.name, reads_the_repository)


def test_wheel_is_the_working_tree(built, tmp_path):
    """Same version and the same hash of every source file as the checkout under test."""
    with zipfile.ZipFile(built[0]) as z:
        wheel = tmp_path / kit.wheel_name()
        wheel.write_bytes(z.read(f"{kit.KIT_FOLDER}/{wheel.name}"))
    with zipfile.ZipFile(wheel) as w:
        w.extractall(tmp_path / "wheel")
        meta = w.read(f"modadd-{built_id()}.dist-info/METADATA").decode()
    # the wheel's version is the build id: pyproject.toml's version, a local version of the sources' hash
    assert re.search(rf"^Version: {re.escape(built_id())}$", meta, re.M)
    assert built_id().split("+")[0] == re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    assert modadd.local_version(built_id().split("+")[0], tmp_path / "wheel" / "modadd") == built_id()
    assert sorted((tmp_path / "wheel" / "modadd" / "web").glob("*.js")), "the widget's JavaScript ships"


def test_source_hash_changes_with_the_code(tmp_path):
    copy = tmp_path / "modadd"
    shutil.copytree(Path(modadd.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert modadd.source_hash(copy) == modadd.source_hash()
    (copy / "core" / "data.py").write_text((copy / "core" / "data.py").read_text() + "\n# changed\n")
    assert modadd.source_hash(copy) != modadd.source_hash()
    assert re.fullmatch(r"\d+\.\d+\.\d+\+g[0-9a-f]{10}", modadd.build_id())


def _run_check(source: str):
    ns: dict = {}
    exec(compile(source, "check-cell", "exec"), ns)


def test_check_cell_in_process(capsys, monkeypatch):
    """The cell's three outcomes, in this Python (the kernel versions are below)."""
    _run_check(kit.check_cell_source())
    assert "the version this notebook was written for" in capsys.readouterr().out
    with pytest.raises(Exception) as e:
        _run_check(kit.check_cell_source("0.0.0+0000000000"))
    assert type(e.value).__name__ == "ModaddSetupError"
    assert f"needs modadd 0.0.0+0000000000, but this kernel has modadd {modadd.build_id()}" in str(e.value)
    assert e.value._render_traceback_() == str(e.value).splitlines()
    source = kit.check_cell_source()
    monkeypatch.setitem(sys.modules, "modadd", None)             # modadd cannot be imported
    with pytest.raises(Exception) as e:
        _run_check(source)
    assert "needs the modadd package, and this kernel cannot import it" in str(e.value)
    monkeypatch.undo()
    assert kit.install_command() in str(e.value) and kit.KIT_NAME in str(e.value)


def test_bad_binder_line_is_named(tmp_path):
    (tmp_path / "binder").mkdir()
    (tmp_path / "binder" / "requirements.txt").write_text("numpy==2.1.3\nplotly>=6\n")
    with pytest.raises(ValueError, match=r"'plotly>=6' is not an exact pin; allowed: name==version"):
        kit.runtime_pins(tmp_path)


def test_describe_states_size_and_date(built):
    text = kit.describe(built[0])
    size, date = text.split(", ")
    assert re.fullmatch(r"\d+\.\d MB|\d+ kB", size) and re.fullmatch(r"\d{4}-\d\d-\d\d", date)
    mb = built[0].stat().st_size / 1e6
    assert size.endswith("kB") or abs(float(size.split()[0]) - mb) <= 0.05


# ---------------------------------------------------------------- the site links the kit
def test_site_links_the_kit_with_size_and_date(tiny_site, monkeypatch):
    """A small Sphinx build with the book's extension: the chapter page and the
    introduction link the kit with the size and date of the file the site serves; every
    notebook the site offers (with launch buttons, the theme's download too) has the check."""
    monkeypatch.setenv("BOOK_REPOSITORY_URL", "https://github.com/someone/modadd-book")
    out = tiny_site(
        "from modadd.core.data import all_pairs\nlen(all_pairs(5))", ["myst_nb", "offline_assets", "launch_buttons"],
        conf='root_doc = "book/intro"\nexclude_patterns = ["_build", "src", "binder"]\n', index=None, strict=True,
        files={"binder/requirements.txt": ROOT / "binder" / "requirements.txt",
               "pyproject.toml": ROOT / "pyproject.toml", "src": ("link", ROOT / "src"),
               "_toc.yml": "root: book/intro\nchapters:\n  - file: book/ch\n",
               "book/intro.md": "# Home\n\nGet the <span class=\"modadd-kit-link\">course kit</span>.\n\n"
                                "```{toctree}\nch\n```\n"})
    zip_path = out / "kit" / kit.KIT_NAME
    info = kit.describe(zip_path)
    chapter = (out / "book" / "ch.html").read_text()
    assert f'href="../kit/{kit.KIT_NAME}" download>course kit</a> <span class="modadd-kit-info">({info})</span>' in chapter
    assert 'href="../notebooks/ch.ipynb" download>' in chapter
    assert "student version" not in chapter                # ch has no exercises: no student link
    intro = (out / "book" / "intro.html").read_text()
    assert f'href="../kit/{kit.KIT_NAME}" download>course kit</a>' in intro and info in intro
    assert 'class="modadd-kit-link">course kit</span>' not in intro
    served = code_cells(out / "notebooks" / "ch.ipynb")
    assert kit.CHECK_TAG in served[0].metadata["tags"] and "all_pairs" in served[1].source
    with zipfile.ZipFile(zip_path) as z:
        assert z.read(f"{kit.KIT_FOLDER}/notebooks/ch.ipynb") == (out / "notebooks" / "ch.ipynb").read_bytes()
    assert "_sources/book/ch.ipynb" in chapter                # the theme's download button
    theirs = code_cells(out / "_sources" / "book" / "ch.ipynb")
    assert kit.CHECK_TAG in theirs[0].metadata["tags"] and "all_pairs" in theirs[1].source


# ---------------------------------------------------------------- a reader's new environment
@pytest.mark.slow                         # installs the kit into a new virtual environment
def test_kit_installs_this_modadd_and_the_pinned_torch(venv):
    out = venv_python(venv, "import modadd, torch; print(modadd.build_id(), torch.__version__, modadd.__file__)")
    bid, torch_version, where = out.split()
    assert bid == built_id()
    assert torch_version.startswith("2.13.0")
    assert Path(where).resolve().is_relative_to(venv.resolve())       # the wheel, not the checkout


@pytest.mark.slow                         # installs the kit into a new virtual environment
def test_every_notebook_import_resolves_in_the_kit(venv, built):
    mods = set()
    for path in built[1]:
        for c in code_cells(path):
            mods |= set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", c.source, re.M))
    assert {"modadd", "torch", "numpy", "myst_nb"} <= mods
    missing = venv_python(venv, f"import importlib.util; print([m for m in {sorted(mods)!r} "
                                "if importlib.util.find_spec(m) is None])")
    assert missing == "[]"


# Chapter 2 trains networks, draws the book's figures and makes the live widget: the most of
# the package a chapter of modest cost touches. Every notebook's imports are checked above.
@pytest.mark.parametrize("stem", ["02_tiny_transformer"])
@pytest.mark.slow                         # installs the kit into a new virtual environment
def test_chapter_runs_from_the_kit_outside_the_repository(venv, unpacked, stem, tmp_path):
    out = tmp_path / "executed"
    t = time.perf_counter()
    r = sh(f".venv/bin/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=900 "
           f"--output-dir {out} notebooks/{stem}.ipynb", unpacked)
    TIMINGS[f"execute {stem} from the kit (s)"] = time.perf_counter() - t
    assert r.returncode == 0, r.stderr[-4000:]
    cells = code_cells(out / f"{stem}.ipynb")
    first = "".join(o.get("text", "") for o in cells[0].outputs)
    assert f"modadd {built_id()}: the version this notebook was written for" in first
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    # a notebook a class can hand in: plotly.js is not in it (plotly's own default puts it in
    # every figure: 26 MB for chapter 2); the figures are
    size = (out / f"{stem}.ipynb").stat().st_size
    TIMINGS[f"executed {stem} (MB)"] = size / 1e6
    html = [o for c in cells for o in c.outputs if "text/html" in o.get("data", {})]
    assert size <= 2e6 and len(html) >= 4, (size, len(html))
    assert not [o for o in html if "plotly.js v" in o["data"]["text/html"]]


@pytest.mark.slow                         # installs the kit into a new virtual environment
def test_lab_command_serves_the_notebooks(venv, unpacked):
    command = readme_commands(unpacked)[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = " --allow-root" if os.geteuid() == 0 else ""         # CI runs as root
    proc = subprocess.Popen(["bash", "-c", f"exec {command} --no-browser --ServerApp.ip=127.0.0.1 "
                             f"--ServerApp.port={port} --IdentityProvider.token={root}"],
                            cwd=unpacked, env=reader_env(unpacked),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        listing = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and listing is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/", timeout=5) as r:
                    listing = json.load(r)
            except OSError:
                assert proc.poll() is None, proc.stderr.read()[-3000:]
                time.sleep(1)
        assert listing is not None, "JupyterLab did not answer in 120 s"
        names = {c["name"] for c in listing["content"]}
        assert {"01_modular_addition.ipynb", "student"} <= names
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=10) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow                         # installs the kit into a new virtual environment
def test_mismatched_modadd_names_found_and_needed(venv, tmp_path):
    outputs = run_cells(venv, [kit.check_cell_source("0.0.0+0000000000"), "print('went on')"], tmp_path)
    [err] = outputs[0]
    assert err["output_type"] == "error" and err["ename"] == "ModaddSetupError"
    text = "\n".join(err["traceback"])
    assert f"This notebook needs modadd 0.0.0+0000000000, but this kernel has modadd {built_id()}." in text
    assert "Traceback" not in text and "File " not in text


@pytest.mark.slow                         # installs the kit into a new virtual environment
def test_without_modadd_the_first_cell_says_what_to_do(venv, unpacked, tmp_path):
    first = code_cells(unpacked / "notebooks" / "01_modular_addition.ipynb")[0].source
    r = sh(".venv/bin/pip uninstall -y -q modadd", unpacked)
    assert r.returncode == 0, r.stderr
    try:
        outputs = run_cells(venv, [first], tmp_path)
    finally:
        r = sh(readme_commands(unpacked)[0], unpacked)     # the README's command puts it back
        assert r.returncode == 0, r.stderr[-3000:]
    [err] = outputs[0]
    assert err["output_type"] == "error" and err["ename"] == "ModaddSetupError"
    text = "\n".join(err["traceback"])
    assert text.startswith("This notebook needs the modadd package, and this kernel cannot import it.")
    assert kit.KIT_NAME in text and kit.install_command() in text and kit.LAB_COMMAND in text
    assert "ModuleNotFoundError" not in text and "Traceback" not in text
    assert len(text.splitlines()) <= 6
    assert venv_python(venv, "import modadd; print(modadd.build_id())") == built_id()


COURSE_CHAPTER = """
# A chapter

```{code-cell} ipython3
x = 1
```

## Exercises

```{exercise}
:label: ex-why
*Explain.* Why is the sky blue?
```

```{solution} ex-why
:class: dropdown
Rayleigh scattering, said the model answer.
```

```{exercise}
:label: ex-more
*Explain.* And at sunset?
```

```{solution-start} ex-more
:class: dropdown
```

The gated model answer says: a longer path.

```{code-cell} ipython3
gated_answer_code = 2
```

```{solution-end}
```
"""


@pytest.mark.parametrize("solutions", ["show", "hide"])
def test_a_build_for_a_course_hides_the_solutions_and_the_teacher_kit(tiny_site, monkeypatch, solutions):
    """``BOOK_SOLUTIONS=hide``: no exercise's solution on the page, plain or gated, and the
    teacher kit written beside the site, not in it; the default shows both."""
    from conftest import FRONT_MATTER
    if solutions == "hide":
        monkeypatch.setenv("BOOK_SOLUTIONS", "hide")
    else:
        monkeypatch.delenv("BOOK_SOLUTIONS", raising=False)
    monkeypatch.setenv("BOOK_REPOSITORY_URL", "https://github.com/someone/modadd-book")   # the book's downloads
    out = tiny_site(
        "", ["myst_nb", "sphinx_exercise", "offline_assets", "launch_buttons"],
        conf='root_doc = "book/intro"\nexclude_patterns = ["_build", "src", "binder"]\n', index=None, strict=True,
        files={"binder/requirements.txt": ROOT / "binder" / "requirements.txt",
               kit.TEACHER_PINS: ROOT / kit.TEACHER_PINS,
               "pyproject.toml": ROOT / "pyproject.toml", "src": ("link", ROOT / "src"),
               "_toc.yml": "root: book/intro\nchapters:\n  - file: book/ch\n",
               "book/ch.md": FRONT_MATTER + COURSE_CHAPTER,
               "book/intro.md": "# Home\n\nThe <span class=\"modadd-kit-link\">course kit</span> and the "
                                "<span class=\"modadd-teacher-kit-link\">teacher kit</span>.\n\n"
                                "```{toctree}\nch\n```\n"})
    page = (out / "book" / "ch.html").read_text()
    intro = (out / "book" / "intro.html").read_text()
    answers = ["Rayleigh scattering", "The gated model answer", "gated_answer_code"]
    served = out / "kit" / kit.TEACHER_KIT_NAME
    beside = out.parent / "teacher-kit" / kit.TEACHER_KIT_NAME
    assert "Why is the sky blue?" in page and "And at sunset?" in page          # the exercises stay
    if solutions == "show":
        assert all(a in page for a in answers)
        assert served.is_file() and not beside.exists()
        assert f'href="../kit/{kit.TEACHER_KIT_NAME}" download>teacher kit</a>' in intro
    else:
        assert not [a for a in answers if a in page]
        assert beside.is_file() and not served.exists()
        assert "this site was built for a course, without the solutions, and does not serve it" in intro
        assert kit.TEACHER_KIT_NAME not in re.sub(r"<code>teacher-kit/[^<]*</code>", "", intro)
    # either way the student kit's chapter notebook has no model answer; the teacher kit has them
    with zipfile.ZipFile(out / "kit" / kit.KIT_NAME) as z:
        student = z.read(f"{kit.KIT_FOLDER}/notebooks/ch.ipynb").decode()
    assert not [a for a in answers if a in student] and "Why is the sky blue?" in student
    with zipfile.ZipFile(served if solutions == "show" else beside) as z:
        teacher = z.read(f"{kit.TEACHER_FOLDER}/notebooks/ch.ipynb").decode()
        source = z.read(f"{kit.TEACHER_FOLDER}/source/ch/ch.ipynb").decode()
    assert all(a in teacher for a in answers) and "Rayleigh scattering" in source
    # the notebook the theme's download button offers: the chapter as the site shows it
    offered = (out / "_sources" / "book" / "ch.ipynb").read_text()
    assert "Why is the sky blue?" in offered
    assert all(a in offered for a in answers) if solutions == "show" else not [a for a in answers if a in offered]
