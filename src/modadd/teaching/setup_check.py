"""The setup check of a downloaded notebook: its first code cell checks that the kernel
imports ``modadd`` with the :func:`modadd.build_id` the notebook was written for, and if not
stops with a short message naming the course kit and the command, instead of a traceback.
Where ``modadd`` is missing (Colab) it can first install the wheel the published site serves.

The kits' builder (``tools/kit.py``, not in the wheel) adds it to every notebook it writes;
``python -m modadd course`` adds it to nbgrader's source notebooks.
"""
from __future__ import annotations

import nbformat

from .. import build_id

KIT_NAME = "modadd-kit.zip"          # the file the site serves, under kit/
KIT_FOLDER = "modadd-kit"            # the folder the zip unpacks to
CHECK_TAG = "modadd-kit-check"       # the tag of the check cell in a downloaded notebook
VENV_COMMAND = "python3 -m venv .venv && .venv/bin/pip install --no-compile -r requirements.txt {wheel}"
LAB_COMMAND = ".venv/bin/jupyter lab notebooks"


def wheel_name(version: str | None = None) -> str:
    """The file name of modadd's wheel in the kits (version: :func:`modadd.build_id`)."""
    return f"modadd-{version or build_id()}-py3-none-any.whl"


def install_command(wheel: str | None = None) -> str:
    """The README's first command: a virtual environment with the kit installed."""
    return VENV_COMMAND.format(wheel=wheel or wheel_name())


def wheel_url(site_url: str, wheel: str | None = None) -> str:
    """Where the published site serves the wheel: ``SITE/kit/<wheel>`` (:func:`build_kit`
    writes it beside the kit)."""
    return f"{site_url.rstrip('/')}/kit/{wheel or wheel_name()}"


def check_cell_source(needed: str | None = None, wheel: str | None = None,
                      site_url: str | None = None, pins: list[str] | tuple = ()) -> str:
    """The first code cell of a downloaded notebook: stop, with a short message naming the
    kit and the command, unless ``modadd`` imports with build id ``needed``.

    With ``site_url`` (the published site, ``BOOK_SITE_URL`` at build time), a kernel that
    cannot import ``modadd`` (Colab, a fresh Jupyter) first installs the wheel the site
    serves and the book's ``pins`` (:func:`notebook_pins`) into the kernel's own Python, then
    checks as above."""
    needed = needed or build_id()
    install = "None" if site_url is None else repr(wheel_url(site_url, wheel))
    return f'''# Setup check (added to every downloaded notebook): this kernel must have the modadd
# package this notebook was written for. Get it from the course kit ({KIT_NAME}).
def _check_modadd(needed={needed!r}, wheel_url={install}, pins={tuple(pins)!r}):
    import importlib, importlib.util, subprocess, sys
    class ModaddSetupError(Exception):
        def _render_traceback_(self):       # Jupyter shows the message, not a traceback
            return str(self).splitlines()
    how = ("Get the course kit {KIT_NAME} from the book's site (the link beside 'Run this "
           "chapter yourself'), unzip it and, in its folder, run:\\n"
           "    {install_command(wheel)}\\n"
           "    {LAB_COMMAND}\\n"
           "then open this notebook from that JupyterLab.")
    if wheel_url is not None and importlib.util.find_spec("modadd") is None:
        print(f"Installing modadd {{needed}} from {{wheel_url}} (first time: a few minutes) ...")
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            f"modadd @ {{wheel_url}}", *pins], capture_output=True, text=True)
        if r.returncode != 0:
            raise ModaddSetupError(f"Installing modadd from {{wheel_url}} failed:\\n"
                                   + (r.stderr or r.stdout)[-1500:] + "\\n" + how) from None
        importlib.invalidate_caches()
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


def add_check_cell(nb, needed: str | None = None, wheel: str | None = None, site_url: str | None = None,
                   pins: list[str] | tuple = ()):
    """Insert the check cell before the notebook's first code cell (once); returns ``nb``."""
    cells = [c for c in nb.cells if CHECK_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_code_cell(check_cell_source(needed, wheel, site_url, pins), metadata={"tags": [CHECK_TAG]})
    cell.pop("id", None)
    first = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    nb.cells = cells[:first] + [cell] + cells[first:]
    if nb.nbformat == 4 and nb.nbformat_minor >= 5:
        cell["id"] = "modadd-kit-check"
    return nb
