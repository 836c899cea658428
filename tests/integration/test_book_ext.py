"""The book's own Sphinx extensions, each on a two-page toy site: exercise numbers restart on
every page (book/_ext/exercise_numbers.py), the pages that report chapter times run again
after a chapter does (book/_ext/build_times.py), wide figures get the site's stylesheet
(book/_ext/wide_figures.py)."""
import re
import subprocess
import sys
from pathlib import Path

from conftest import FRONT_MATTER

ROOT = Path(__file__).resolve().parents[2]
EXT = str(ROOT / "book" / "_ext")
HEAD = FRONT_MATTER


def sphinx(src, out):
    """Build in a fresh process (Sphinx keeps extension state per process); its stdout."""
    r = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", str(src), str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def exercises(label):
    return "".join(f"```{{exercise}}\n:label: {label}-{i}\nexercise {i} of {label}\n```\n\n" for i in (1, 2))


def test_exercise_numbers_restart_on_every_page_and_a_rebuild_rewrites_nothing(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {EXT!r})\n"
                                 "extensions = ['myst_parser', 'sphinx_exercise', 'exercise_numbers', 'wide_figures']\n"
                                 "html_theme = 'sphinx_book_theme'\nnumfig = True\n")
    (src / "index.md").write_text("# Book\n\n```{toctree}\na\nb\n```\n")
    (src / "a.md").write_text("# A\n\n" + exercises("a"))
    (src / "b.md").write_text("# B\n\n" + exercises("b"))
    out = tmp_path / "html"
    sphinx(src, out)
    for page in ("a", "b"):
        numbers = re.findall(r"Exercise (\d+)", (out / f"{page}.html").read_text())
        assert numbers[:2] == ["1", "2"] and "3" not in numbers, (page, numbers)
    log = sphinx(src, out)
    assert "0 added, 0 changed, 0 removed" in log and not re.search(r"writing output\.\.\. \[", log), log
    # and the wide-figure stylesheet is served and linked
    assert (out / "_static" / "wide_figures.css").exists()
    assert "wide_figures.css" in (out / "a.html").read_text()


def test_report_pages_run_again_after_a_chapter_runs(tmp_path):
    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {EXT!r})\n"
                                 "extensions = ['myst_nb', 'build_times']\nnb_execution_mode = 'cache'\n"
                                 f"nb_execution_cache_path = {str(tmp_path / 'jc')!r}\n")
    (src / "index.md").write_text("# Book\n\n```{toctree}\nbook/01_a\nbook/teacher_guide\n```\n")
    chapter = src / "book" / "01_a.md"
    chapter.write_text(HEAD + "# A\n\n```{code-cell} ipython3\nprint('first')\n```\n")
    (src / "book" / "teacher_guide.md").write_text(
        HEAD + "# Guide\n\n```{code-cell} ipython3\nimport time\nprint('ran at', time.time())\n```\n")
    out = tmp_path / "html"

    def guide_stamp():
        return re.search(r"ran at [\d.]+", (out / "book" / "teacher_guide.html").read_text()).group(0)

    sphinx(src, out)
    first = guide_stamp()
    sphinx(src, out)                                   # nothing changed: the cached output stays
    assert guide_stamp() == first
    chapter.write_text(chapter.read_text().replace("first", "second"))
    sphinx(src, out)                                   # the chapter ran: the guide runs after it
    assert guide_stamp() != first
