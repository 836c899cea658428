"""The course kit: everything a reader needs to run the chapters without this repository.

The book build (``book/_ext/offline_assets.py``) writes every chapter as a downloadable
notebook and packs the kit that the site serves, ``kit/modadd-kit.zip``:

* a wheel of ``modadd`` built from the same sources as the book;
* every chapter notebook (``notebooks/``) and its student version (``notebooks/student/``);
* ``requirements.txt``: the book's runtime pins, the very lines ``binder/requirements.txt``
  installs for Binder (:func:`runtime_pins`);
* ``README.md`` with two commands: make a virtual environment and install the kit, then
  open JupyterLab on the notebooks.

The first code cell of every downloaded notebook (:func:`add_check_cell`) checks that the
kernel imports ``modadd`` with the :func:`modadd.build_id` the notebook was written with; if
not, it stops with a short message naming the kit and the command, instead of a traceback.

Chapters whose code reads the repository itself (``REPO_ROOT``: the teacher guide's exercise
table, the benchmarks appendix) describe the repository and are not in the kit.
"""
from __future__ import annotations

import datetime as _dt
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from . import REPO_ROOT, build_id

KIT_NAME = "modadd-kit.zip"          # the file the site serves, under kit/
KIT_FOLDER = "modadd-kit"            # the folder the zip unpacks to
CHECK_TAG = "modadd-kit-check"       # the tag of the check cell in a downloaded notebook
VENV_COMMAND = "python3 -m venv .venv && .venv/bin/pip install --no-compile -r requirements.txt {wheel}"
LAB_COMMAND = ".venv/bin/jupyter lab notebooks"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*(?:#.*)?$")


def _root(root) -> Path:
    root = Path(root) if root is not None else REPO_ROOT
    if root is None:
        raise ValueError("the kit is built from a source checkout of the book: pass root=<the "
                         "repository>, or use an editable install (pip install -e .)")
    return Path(root)


def runtime_pins(root=None) -> list[str]:
    """The book's runtime pins (``name==version``), read from ``binder/requirements.txt``:
    Binder and the kit install exactly these. Other lines there (the CPU index for torch,
    ``-e .``, comments) are not pins."""
    path = _root(root) / "binder" / "requirements.txt"
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


def kit_chapters(root=None) -> list[Path]:
    """The toc's notebook pages that run without the repository (all but those whose code
    uses ``REPO_ROOT``), the introduction (the toc's root: a live widget, no chapter) left out."""
    import yaml

    from .classroom import chapters
    home = yaml.safe_load((_root(root) / "_toc.yml").read_text())["root"]
    return [p for p in chapters(_root(root)) if "REPO_ROOT" not in p.read_text()
            and p.with_suffix("").as_posix() != (_root(root) / home).with_suffix("").as_posix()]


def wheel_name(version: str | None = None) -> str:
    from . import __version__
    return f"modadd-{version or __version__}-py3-none-any.whl"


def install_command(wheel: str | None = None) -> str:
    """The README's first command: a virtual environment with the kit installed."""
    return VENV_COMMAND.format(wheel=wheel or wheel_name())


def check_cell_source(needed: str | None = None, wheel: str | None = None) -> str:
    """The first code cell of a downloaded notebook: stop, with a short message naming the
    kit and the command, unless ``modadd`` imports with build id ``needed``."""
    needed = needed or build_id()
    return f'''# Setup check (added to every downloaded notebook): this kernel must have the modadd
# package this notebook was written for. Get it from the course kit ({KIT_NAME}).
def _check_modadd(needed={needed!r}):
    class ModaddSetupError(Exception):
        def _render_traceback_(self):       # Jupyter shows the message, not a traceback
            return str(self).splitlines()
    how = ("Get the course kit {KIT_NAME} from the book's site (the link beside 'Run this "
           "chapter yourself'), unzip it and, in its folder, run:\\n"
           "    {install_command(wheel)}\\n"
           "    {LAB_COMMAND}\\n"
           "then open this notebook from that JupyterLab.")
    try:
        import modadd
    except ImportError:
        raise ModaddSetupError("This notebook needs the modadd package, and this kernel "
                               "cannot import it.\\n" + how) from None
    found = modadd.build_id() if hasattr(modadd, "build_id") else getattr(modadd, "__version__", "unknown")
    if found != needed:
        raise ModaddSetupError(f"This notebook needs modadd {{needed}}, but this kernel has "
                               f"modadd {{found}}.\\n" + how) from None
    print(f"modadd {{found}}: the version this notebook was written for.")


_check_modadd()'''


def add_check_cell(nb, needed: str | None = None, wheel: str | None = None):
    """Insert the check cell before the notebook's first code cell (once); returns ``nb``."""
    import nbformat
    cells = [c for c in nb.cells if CHECK_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_code_cell(check_cell_source(needed, wheel), metadata={"tags": [CHECK_TAG]})
    cell.pop("id", None)
    first = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    nb.cells = cells[:first] + [cell] + cells[first:]
    if nb.nbformat == 4 and nb.nbformat_minor >= 5:
        cell["id"] = "modadd-kit-check"
    return nb


def add_check_to_file(path, needed: str | None = None) -> None:
    """Add the check cell to a notebook file in place (e.g. an executed notebook)."""
    import nbformat
    nb = nbformat.read(path, as_version=4)
    nbformat.write(add_check_cell(nb, needed), path)


def write_notebooks(out_dir, root=None, needed: str | None = None) -> list[Path]:
    """Write every kit chapter as ``OUT/<stem>.ipynb`` and its student version as
    ``OUT/student/<stem>.ipynb`` (:mod:`modadd.classroom`), each with the check cell."""
    import jupytext
    import nbformat

    from .classroom import write_student_notebooks
    root = _root(root)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chapters = kit_chapters(root)
    stems = {p.stem for p in chapters}
    written = []
    for ch in chapters:
        path = out / f"{ch.stem}.ipynb"
        jupytext.write(add_check_cell(jupytext.read(ch), needed), path)
        written.append(path)
    for path in write_student_notebooks(out / "student", root=root):
        if path.stem not in stems:
            path.unlink()
            continue
        nb = nbformat.read(path, as_version=4)
        nbformat.write(add_check_cell(nb, needed), path)
        written.append(path)
    return written


def build_wheel(out_dir, root=None) -> Path:
    """A wheel of ``modadd`` from the checkout's sources (built in a temporary copy, so the
    checkout gets no ``build/`` folder), into ``out_dir``. Needs setuptools, no network."""
    root = _root(root)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        shutil.copy2(root / "pyproject.toml", src.parent / "pyproject.toml")
        shutil.copytree(root / "src" / "modadd", src / "modadd",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--no-index", "-q", "-w", str(out), str(src.parent)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"building the modadd wheel failed:\n{r.stdout}{r.stderr}")
    wheels = sorted(out.glob("modadd-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one modadd wheel in {out}, found {[w.name for w in wheels]}")
    return wheels[0]


def readme(wheel: str, built: str, bid: str, chapters: list[str], students: list[str]) -> str:
    return f"""# Course kit: Clustering and Alignment, an executable textbook

Built on {built} with modadd {bid}, from the same sources as the book's site. It holds

- `notebooks/`: every chapter as a notebook ({", ".join(chapters)});
- `notebooks/student/`: the student versions, with the answers removed ({", ".join(students)});
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

The first cell of every notebook checks that this kit's `modadd` is installed, and says what
to do if it is not. Chapters that sweep many training runs train the runs they lack the
first time, with a progress bar, and keep them in `~/.cache/modadd` (set `MODADD_CACHE` to
put them elsewhere), so the next time they load in seconds.
"""


def build_kit(out_dir, notebooks_dir, root=None, today: _dt.date | None = None) -> Path:
    """Pack ``OUT/modadd-kit.zip`` from ``notebooks_dir`` (as :func:`write_notebooks` wrote
    it), a fresh wheel, the runtime pins and the README; returns the zip's path."""
    root = _root(root)
    nbdir = Path(notebooks_dir)
    today = today or _dt.datetime.now(_dt.timezone.utc).date()
    full = sorted(nbdir.glob("*.ipynb"))
    student = sorted((nbdir / "student").glob("*.ipynb"))
    if not full:
        raise ValueError(f"no notebooks in {nbdir}: write them first (write_notebooks)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = (today.year, today.month, today.day, 0, 0, 0)

    def add(z, name, data: bytes):
        info = zipfile.ZipInfo(f"{KIT_FOLDER}/{name}", date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        z.writestr(info, data)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(tmp, root)
        target = out / KIT_NAME
        part = target.with_suffix(".zip.part")
        with zipfile.ZipFile(part, "w") as z:
            add(z, "README.md", readme(wheel.name, today.isoformat(), build_id(),
                                       [p.stem for p in full], [p.stem for p in student]).encode())
            pins = "\n".join(runtime_pins(root))
            add(z, "requirements.txt", (f"# The book's runtime pins (the same as its Binder's).\n"
                                        f"{pins}\n").encode())
            add(z, wheel.name, wheel.read_bytes())
            for p in full:
                add(z, f"notebooks/{p.name}", p.read_bytes())
            for p in student:
                add(z, f"notebooks/student/{p.name}", p.read_bytes())
        part.replace(target)
    return target


def describe(path) -> str:
    """Size and date of a kit, as the site shows them beside the link: ``1.4 MB, 2026-05-03``."""
    path = Path(path)
    with zipfile.ZipFile(path) as z:
        y, m, d = z.infolist()[0].date_time[:3]
    size = path.stat().st_size
    text = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
    return f"{text}, {y:04d}-{m:02d}-{d:02d}"


def main(argv=None) -> Path:
    """``python -m modadd.kit --out DIR``: the kit alone, without building the book."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m modadd.kit", description=main.__doc__)
    ap.add_argument("--out", required=True, help="folder for notebooks/ and modadd-kit.zip")
    args = ap.parse_args(argv)
    out = Path(args.out)
    write_notebooks(out / "notebooks")
    path = build_kit(out, out / "notebooks")
    print(f"{path} ({describe(path)})")
    return path


if __name__ == "__main__":
    main()
