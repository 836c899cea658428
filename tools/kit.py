"""The course kits: everything a reader, or a teacher, needs without this repository.

The book build (``book/_ext/offline_assets.py``) writes every chapter as a downloadable
notebook and packs the kits:

* the **student kit** ``kit/modadd-kit.zip``, which the site serves: a wheel of ``modadd``
  built from the same sources as the book; every chapter as a notebook (``notebooks/``),
  with the exercises' model answers and answer code removed
  (:func:`modadd.teaching.classroom.without_solutions`), and each chapter's assignment as nbgrader
  releases it (``notebooks/student/``); ``requirements.txt``, the book's runtime pins, the
  very lines ``binder/requirements.txt`` installs for Binder (:func:`runtime_pins`); a
  README with two commands: make a virtual environment and install the kit, then open
  JupyterLab on the notebooks;
* the **teacher kit** ``modadd-teacher-kit.zip``, the only one with the solutions: the same
  wheel, a second one, ``modadd_course`` (the chapters' exercise sources and the numbers
  their model answers cite, so ``python -m modadd course|student|grade`` work outside a
  checkout), every chapter in full, nbgrader's source notebooks (``source/``), the runtime
  pins plus nbgrader's (``binder/teacher-requirements.txt``: nbgrader with the Jupyter
  front end at the kit's JupyterLab) and a README with the course's commands. The site
  serves it beside the student kit, unless the build hides the solutions
  (``BOOK_SOLUTIONS=hide``, a build for a course): then it is written outside the site.

Both wheels carry :func:`modadd.build_id` as their version (``0.1.0+<hash of the
sources>``), so ``pip install`` puts a newer kit's wheel in place of an older one.

The first code cell of every downloaded notebook (:func:`add_check_cell`) checks that the
kernel imports ``modadd`` with the :func:`modadd.build_id` the notebook was written with; if
not, it stops with a short message naming the kit and the command, instead of a traceback.

Chapters whose code reads the repository itself (``REPO_ROOT``: the teacher guide's exercise
table, the benchmarks appendix) describe the repository and are not in the kits.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from modadd import REPO_ROOT, build_id, local_version
from modadd.teaching.setup_check import (CHECK_TAG, KIT_FOLDER, KIT_NAME, LAB_COMMAND, VENV_COMMAND, add_check_cell,
                                         check_cell_source, install_command, wheel_name, wheel_url)

TEACHER_KIT_NAME = "modadd-teacher-kit.zip"
TEACHER_FOLDER = "modadd-teacher-kit"
TEACHER_PINS = "binder/teacher-requirements.txt"   # nbgrader and its front end, at the kit's JupyterLab
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*(?:#.*)?$")


def _root(root) -> Path:
    root = Path(root) if root is not None else REPO_ROOT
    if root is None:
        raise ValueError("the kit is built from a source checkout of the book: pass root=<the "
                         "repository>, or use an editable install (pip install -e .)")
    return Path(root)


def _pins(path: Path) -> list[str]:
    pins = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        if not _PIN.match(line):
            raise ValueError(f"{path}: {line!r} is not an exact pin; allowed: name==version, "
                             "a comment, or an option line starting with '-'")
        pins.append(line.split("#")[0].strip())
    return pins


def runtime_pins(root=None) -> list[str]:
    """The book's runtime pins (``name==version``), read from ``binder/requirements.txt``:
    Binder and the kit install exactly these. Other lines there (the CPU index for torch,
    ``-e .``, comments) are not pins."""
    return _pins(_root(root) / "binder" / "requirements.txt")


def teacher_pins(root=None) -> list[str]:
    """What the teacher kit installs on top of :func:`runtime_pins`: nbgrader, and the
    Jupyter packages it needs at versions that keep JupyterLab at its pin
    (:data:`TEACHER_PINS`)."""
    return _pins(_root(root) / TEACHER_PINS)


def kit_chapters(root=None) -> list[Path]:
    """The toc's notebook pages that run without the repository (all but those whose code
    uses ``REPO_ROOT``), the introduction (the toc's root: a live widget, no chapter) left out."""
    import yaml

    from modadd.teaching.classroom import chapters
    home = yaml.safe_load((_root(root) / "_toc.yml").read_text())["root"]
    return [p for p in chapters(_root(root)) if "REPO_ROOT" not in p.read_text()
            and p.with_suffix("").as_posix() != (_root(root) / home).with_suffix("").as_posix()]


def _version(root=None) -> str:
    """The wheels' version: pyproject.toml's, plus the hash of the sources in ``root`` (the
    :func:`modadd.build_id` of that code)."""
    root = _root(root)
    base = re.search(r'^version = "([^"+]+)', (root / "pyproject.toml").read_text(), re.M).group(1)
    return local_version(base, root / "src" / "modadd")


def course_wheel_name(version: str | None = None) -> str:
    """The file name of the teacher kit's ``modadd_course`` wheel."""
    return f"modadd_course-{version or build_id()}-py3-none-any.whl"


def teacher_install_command(version: str | None = None) -> str:
    """The teacher kit's first command: both wheels, the runtime pins and nbgrader's."""
    return VENV_COMMAND.format(wheel=f"{wheel_name(version)} {course_wheel_name(version)}")


#: Pins a kernel already has (it runs the notebook): left out when a notebook installs the rest.
FRONT_END = {"jupyterlab", "jupytext", "ipykernel"}


def notebook_pins(root=None) -> list[str]:
    """What a notebook installs beside the wheel where ``modadd`` is missing (Colab): the
    book's runtime pins (:func:`runtime_pins`) less the Jupyter front end, which the kernel
    running the notebook already has."""
    return [p for p in runtime_pins(root) if p.split("==")[0].lower() not in FRONT_END]


def add_check_to_file(path, needed: str | None = None, site_url: str | None = None, root=None) -> None:
    """Add the check cell to a notebook file in place (e.g. an executed notebook)."""
    import nbformat
    nb = nbformat.read(path, as_version=4)
    pins = notebook_pins(root) if site_url else ()
    nbformat.write(add_check_cell(nb, needed, site_url=site_url, pins=pins), path)


def write_notebooks(out_dir, root=None, needed: str | None = None, site_url: str | None = None) -> list[Path]:
    """The student kit's notebooks: every kit chapter as ``OUT/<stem>.ipynb``, the numbers its
    text glues in place of the markup (:func:`modadd.teaching.classroom.with_numbers`), without the
    exercises' solutions (:func:`modadd.teaching.classroom.without_solutions`), and its assignment as
    ``OUT/student/<stem>.ipynb`` (:mod:`modadd.teaching.classroom`), each with the check cell (which
    installs the wheel from ``site_url`` where ``modadd`` is missing: :func:`check_cell_source`)."""
    import jupytext
    import nbformat

    from modadd.teaching.classroom import with_numbers, without_solutions, write_student_notebooks
    root = _root(root)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chapters = kit_chapters(root)
    pins = notebook_pins(root) if site_url else ()
    stems = {p.stem for p in chapters}
    written = []
    for ch in chapters:
        path = out / f"{ch.stem}.ipynb"
        jupytext.write(add_check_cell(without_solutions(with_numbers(jupytext.read(ch), ch, root)), needed,
                                      site_url=site_url, pins=pins), path)
        written.append(path)
    for path in write_student_notebooks(out / "student", root=root):
        if path.stem not in stems:
            path.unlink()
            continue
        nb = nbformat.read(path, as_version=4)
        nbformat.write(add_check_cell(nb, needed, site_url=site_url, pins=pins), path)
        written.append(path)
    return written


def write_teacher_notebooks(out_dir, root=None, needed: str | None = None) -> list[Path]:
    """The teacher kit's notebooks: every kit chapter in full, solutions included (with the
    numbers its text glues), as
    ``OUT/notebooks/<stem>.ipynb``, and nbgrader's source of each assignment (the teacher's
    version, with the check cell, from which ``nbgrader generate_assignment`` releases the
    student kit's ``notebooks/student/<stem>.ipynb``) as ``OUT/source/<stem>/<stem>.ipynb``."""
    import jupytext
    import nbformat

    from modadd.teaching.classroom import with_numbers, write_student_notebooks
    root = _root(root)
    out = Path(out_dir)
    chapters = kit_chapters(root)
    stems = {p.stem for p in chapters}
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    written = []
    for ch in chapters:
        path = out / "notebooks" / f"{ch.stem}.ipynb"
        jupytext.write(add_check_cell(with_numbers(jupytext.read(ch), ch, root), needed), path)
        written.append(path)
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_student_notebooks(tmp, solutions=True, root=root):
            if path.stem in stems:
                dest = out / "source" / path.stem / path.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(add_check_cell(nbformat.read(path, as_version=4), needed), dest)
                written.append(dest)
    return written


def _pip_wheel(project: Path, out: Path, pattern: str) -> Path:
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--no-index", "-q", "-w", str(out), str(project)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"building the wheel in {project} failed:\n{r.stdout}{r.stderr}")
    wheels = sorted(out.glob(pattern))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one {pattern} in {out}, found {[w.name for w in wheels]}")
    return wheels[0]


def build_wheel(out_dir, root=None) -> Path:
    """A wheel of ``modadd`` from the checkout's sources (built in a temporary copy, so the
    checkout gets no ``build/`` folder), into ``out_dir``, its version the sources'
    :func:`modadd.build_id`. Needs setuptools, no network."""
    root = _root(root)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = _version(root)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        pyproject = (root / "pyproject.toml").read_text()
        (src.parent / "pyproject.toml").write_text(
            re.sub(r'^version = "[^"]*"', f'version = "{version}"', pyproject, count=1, flags=re.M))
        shutil.copytree(root / "src" / "modadd", src / "modadd",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        return _pip_wheel(src.parent, out, "modadd-*.whl")


def build_course_wheel(out_dir, root=None) -> Path:
    """The teacher kit's second wheel, ``modadd_course`` (the package
    :data:`modadd.teaching.classroom.COURSE_PACKAGE`, data only, at the same version as ``modadd``):
    the chapters with exercises (``book/*.md``, a ``_toc.yml`` listing them) and the
    numbers their model answers cite (:data:`modadd.teaching.classroom.GLUE_FILE`, from the book
    build's execution of each chapter) and each chapter's run time there
    (:data:`modadd.teaching.classroom.RUN_TIMES_FILE`). With it installed, the teacher commands find the
    chapters without a checkout."""
    import yaml

    from modadd.teaching.classroom import COURSE_PACKAGE, GLUE_FILE, RUN_TIMES_FILE, assignments, chapter_run_time, glue_values
    root = _root(root)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = _version(root)
    chapters = assignments(root)
    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / COURSE_PACKAGE
        (pkg / "book").mkdir(parents=True)
        (pkg / "__init__.py").write_text('"""The chapters\' exercises for modadd\'s teacher commands '
                                         '(python -m modadd course|student|grade)."""\n')
        for ch in chapters:
            shutil.copy2(ch, pkg / "book" / ch.name)
        files = [f"book/{ch.stem}" for ch in chapters]
        (pkg / "_toc.yml").write_text(yaml.safe_dump({"root": files[0], "chapters": [{"file": f} for f in files[1:]]}))
        (pkg / GLUE_FILE).write_text(json.dumps({ch.stem: glue_values(ch, root) for ch in chapters}, indent=1))
        times = {ch.stem: chapter_run_time(ch, root) for ch in chapters}
        (pkg / RUN_TIMES_FILE).write_text(json.dumps({k: [t[0], t[1].isoformat()] for k, t in times.items() if t}))
        (Path(tmp) / "pyproject.toml").write_text(f'''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "modadd-course"
version = "{version}"
description = "The chapters' exercises for modadd's teacher commands (from the teacher kit)"
requires-python = ">=3.10"
dependencies = ["modadd=={version}"]

[tool.setuptools]
packages = ["{COURSE_PACKAGE}"]

[tool.setuptools.package-data]
{COURSE_PACKAGE} = ["_toc.yml", "{GLUE_FILE}", "{RUN_TIMES_FILE}", "book/*.md"]
''')
        return _pip_wheel(Path(tmp), out, "modadd_course-*.whl")


def readme(wheel: str, built: str, bid: str, chapters: list[str], students: list[str]) -> str:
    return f"""# Course kit: Clustering and Alignment, an executable textbook

Built on {built} with modadd {bid}, from the same sources as the book's site. It holds

- `notebooks/`: every chapter as a notebook ({", ".join(chapters)}), its exercises without their answers;
- `notebooks/student/`: each chapter's exercises as an assignment, with the answers removed ({", ".join(students)});
- `{wheel}`: the `modadd` package the notebooks call;
- `requirements.txt`: the versions of everything else the book was built with.

You need Python 3.10 or newer. In this folder, run two commands.

1. Make a virtual environment and install the kit into it:

       {install_command(wheel)}

2. Open JupyterLab on the notebooks:

       {LAB_COMMAND}

`--no-compile` leaves Python to compile each module the first time it is imported, so the
install does not compile the thousands of modules the notebooks never import.
On Windows write `.venv\\Scripts\\` for `.venv/bin/`. On Linux without an NVIDIA GPU you can add
`--extra-index-url https://download.pytorch.org/whl/cpu` to the first command's `pip install`
for PyTorch's much smaller CPU-only build (the same version; the book's Binder does this).
A newer kit installs over an older one with the same first command, run in the newer kit's folder.

The first cell of every notebook checks that this kit's `modadd` is installed, and says what
to do if it is not. Chapters that sweep many training runs train the runs they lack the
first time, with a progress bar, and keep them in `~/.cache/modadd` (set `MODADD_CACHE` to
put them elsewhere), so the next time they load in seconds.
"""


#: The teacher kit README's commands after the install, in order: each line a command run in
#: the kit's folder (``tests/integration/test_course.py`` runs them as printed).
TEACHER_COMMANDS = [
    ".venv/bin/python -m modadd course course --timeout 20",
    "cd course && ../.venv/bin/nbgrader generate_assignment 01_modular_addition",
    ".venv/bin/python -m modadd grade submissions --course course --timeout 20",
    "cd course && ../.venv/bin/nbgrader generate_feedback 01_modular_addition",
    "cd course && ../.venv/bin/nbgrader export",
]


def teacher_readme(built: str, bid: str, chapters: list[str], sources: list[str]) -> str:
    c = TEACHER_COMMANDS
    return f"""# Teacher kit: Clustering and Alignment, an executable textbook

Built on {built} with modadd {bid}, from the same sources as the book's site and its student
kit ({KIT_NAME}). **It holds the solutions: do not hand it to students.** It holds

- `notebooks/`: every chapter as a notebook, with the exercises' solutions ({", ".join(chapters)});
- `source/`: each assignment's teacher version, nbgrader's source notebooks, with the
  answers, model answers and hidden tests ({", ".join(sources)});
- `{wheel_name(bid)}`: the `modadd` package, and `{course_wheel_name(bid)}`: the chapters'
  exercises that the teacher commands read;
- `requirements.txt`: the book's runtime versions, and nbgrader's.

You need Python 3.10 or newer. In this folder:

1. Make a virtual environment with the kit and nbgrader:

       {teacher_install_command(bid)}

2. Make an nbgrader course folder, `course/`: its `nbgrader_config.py` and the source
   notebooks (add `--hidden-seed N` to draw hidden cases of your own; `--timeout S`: the
   seconds a cell may run when grading, default 60; the notebooks' cells take a few seconds):

       {c[0]}

3. Release an assignment: `course/release/01_modular_addition/01_modular_addition.ipynb` is
   the notebook to hand out (the student kit's `notebooks/student/` holds the same):

       {c[1]}

4. Collect each student's notebook as `submissions/<student>/01_modular_addition.ipynb` and
   grade them all with nbgrader's autograde: it prints each score, or why a notebook was not
   graded (another chapter's notebook, not a notebook, a name that is no chapter's), names a
   cell that ran out of time, and puts back check cells a student deleted or changed:

       {c[2]}

5. Grade the written answers in nbgrader's formgrader: `cd course && ../.venv/bin/jupyter lab`,
   then *Nbgrader* > *Formgrader* in JupyterLab's menu.

6. Write each student's feedback (`course/feedback/`; the hidden tests are left out), and
   every score as `course/grades.csv`:

       {c[3]}
       {c[4]}

nbgrader's own commands work on the course folder too (`cd course && ../.venv/bin/nbgrader
autograde 01_modular_addition` for submissions at `course/submitted/<student>/01_modular_addition/`).
On Windows write `.venv\\Scripts\\` for `.venv/bin/`. On Linux without an NVIDIA GPU you can add
`--extra-index-url https://download.pytorch.org/whl/cpu` to the first command's `pip install`
for PyTorch's much smaller CPU-only build (the same version). A newer teacher kit installs
over an older one with the same first command, run in the newer kit's folder.
"""


def _pack(target: Path, folder: str, files: dict[str, bytes], today: _dt.date) -> Path:
    """A zip of ``files`` ({name: bytes}) under ``folder/``, dated ``today``, written atomically."""
    stamp = (today.year, today.month, today.day, 0, 0, 0)
    part = target.with_suffix(".zip.part")
    with zipfile.ZipFile(part, "w") as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    part.replace(target)
    return target


def _requirements(pins: list[str], what: str) -> bytes:
    return (f"# {what}\n" + "\n".join(pins) + "\n").encode()


def _kit_inputs(out_dir, notebooks: Path, others: Path, pattern: str, writer: str, root, today):
    """What both kit builders start from: the repository's root, the kit's date (today in UTC
    unless given), the notebooks in ``notebooks`` (ValueError if there are none: ``writer``
    writes them), the notebooks under ``others`` that match ``pattern``, and the output
    folder, made if missing."""
    root = _root(root)
    today = today or _dt.datetime.now(_dt.timezone.utc).date()
    full = sorted(notebooks.glob("*.ipynb"))
    if not full:
        raise ValueError(f"no notebooks in {notebooks}: write them first ({writer})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return root, today, full, sorted(others.glob(pattern)), out


def build_kit(out_dir, notebooks_dir, root=None, today: _dt.date | None = None) -> Path:
    """Pack the student kit ``OUT/modadd-kit.zip`` from ``notebooks_dir`` (as
    :func:`write_notebooks` wrote it), a fresh wheel, the runtime pins and the README, and put
    the wheel beside it (``OUT/<wheel>``, what :func:`wheel_url` names); returns the zip's
    path."""
    nbdir = Path(notebooks_dir)
    root, today, full, student, out = _kit_inputs(out_dir, nbdir, nbdir / "student", "*.ipynb",
                                                  "write_notebooks", root, today)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(tmp, root)
        files = {"README.md": readme(wheel.name, today.isoformat(), _version(root), [p.stem for p in full],
                                     [p.stem for p in student]).encode(),
                 "requirements.txt": _requirements(runtime_pins(root), "The book's runtime pins (the same as its Binder's)."),
                 wheel.name: wheel.read_bytes()}
        files.update({f"notebooks/{p.name}": p.read_bytes() for p in full})
        files.update({f"notebooks/student/{p.name}": p.read_bytes() for p in student})
        # the wheel alone too, for a notebook that installs it from the site (wheel_url)
        for old in out.glob("modadd-*.whl"):
            old.unlink()
        shutil.copy2(wheel, out / wheel.name)
        return _pack(out / KIT_NAME, KIT_FOLDER, files, today)


def build_teacher_kit(out_dir, teacher_dir, root=None, today: _dt.date | None = None) -> Path:
    """Pack the teacher kit ``OUT/modadd-teacher-kit.zip`` from ``teacher_dir`` (as
    :func:`write_teacher_notebooks` wrote it), both wheels, the runtime and teacher pins and
    its README; returns the zip's path."""
    tdir = Path(teacher_dir)
    root, today, full, sources, out = _kit_inputs(out_dir, tdir / "notebooks", tdir / "source", "*/*.ipynb",
                                                  "write_teacher_notebooks", root, today)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = [build_wheel(tmp, root), build_course_wheel(tmp, root)]
        files = {"README.md": teacher_readme(today.isoformat(), _version(root), [p.stem for p in full],
                                             [p.stem for p in sources]).encode(),
                 "requirements.txt": _requirements(runtime_pins(root) + teacher_pins(root),
                                                   "The book's runtime pins (the same as its Binder's), and nbgrader's."),
                 **{w.name: w.read_bytes() for w in wheels}}
        files.update({f"notebooks/{p.name}": p.read_bytes() for p in full})
        files.update({f"source/{p.parent.name}/{p.name}": p.read_bytes() for p in sources})
        return _pack(out / TEACHER_KIT_NAME, TEACHER_FOLDER, files, today)


def describe(path) -> str:
    """Size and date of a kit, as the site shows them beside the link: ``1.4 MB, 2026-05-03``."""
    path = Path(path)
    with zipfile.ZipFile(path) as z:
        y, m, d = z.infolist()[0].date_time[:3]
    size = path.stat().st_size
    text = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
    return f"{text}, {y:04d}-{m:02d}-{d:02d}"



def main(argv=None) -> list[Path]:
    """``python -m tools.kit --out DIR`` (from the repository): both kits alone, without building the book."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m tools.kit", description=main.__doc__)
    ap.add_argument("--out", required=True, help="folder for notebooks/, teacher/ and the two zips")
    args = ap.parse_args(argv)
    out = Path(args.out)
    write_notebooks(out / "notebooks")
    write_teacher_notebooks(out / "teacher")
    paths = [build_kit(out, out / "notebooks"), build_teacher_kit(out, out / "teacher")]
    for path in paths:
        print(f"{path} ({describe(path)})")
    return paths


if __name__ == "__main__":
    main()
