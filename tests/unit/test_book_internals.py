"""What the chapters rely on but do not assert (they assert science; the machinery is
checked here): chapters 3 and 6 share their runs through the run cache, and the appendix's
tables name test files that exist and the worker count its build benchmark ran with.

The chapters' own values (step counts, settings) are read from their code cells, so a
chapter edited out of step with the cache fails here."""
import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from modadd.core.train import GRID_RECIPE, sweep_configs
from modadd.runs import sweep

ROOT = Path(__file__).resolve().parents[2]
CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)


def statements(body):
    """The statements of ``body`` in order, those inside if/for/with/try blocks included
    (not those inside functions)."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody"):
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) and isinstance(getattr(node, field, None), list):
                yield from statements(getattr(node, field))


def chapter_values(md: Path, *names: str, **given) -> dict:
    """The values that the assignments of ``names`` in chapter ``md``'s code cells give, run
    alone, in order, in a namespace holding ``given`` (and what earlier ones assigned)."""
    ns = dict(given)
    for cell in CELL.findall(md.read_text()):
        try:
            tree = ast.parse("\n".join(line for line in cell.splitlines() if not line.startswith(":")))
        except SyntaxError:
            continue
        for node in statements(tree.body):
            if isinstance(node, ast.Assign) and {n.id for t in node.targets for n in ast.walk(t)
                                                 if isinstance(n, ast.Name)} & set(names):
                exec(compile(ast.Module([node], []), str(md), "exec"), ns)
    missing = [n for n in names if n not in ns]
    assert not missing, f"{md.name} assigns no {missing}"
    return {n: ns[n] for n in names}


def chapter_6_steps(md: Path) -> list[int]:
    """The step counts chapter 6's settled-by check trains (its settings_table calls)."""
    src = md.read_text()
    steps = chapter_values(md, "STEPS")["STEPS"]
    return sorted({steps if s == "STEPS" else int(s.replace("_", ""))
                   for s in re.findall(r"settings_table\(check, (\w+)", src)})


def test_chapter_6s_shorter_runs_are_prefixes_of_its_longest():
    """Chapter 6 says its 1,000- and 3,000-step runs cost nothing more: each is a prefix the
    10,000-step runs leave in the cache (sweep.PREFIX_STEPS)."""
    steps = chapter_6_steps(ROOT / "book" / "06_weight_decay.md")
    assert len(steps) >= 3 and steps[-1] == 10_000
    assert set(steps[:-1]) <= set(sweep.PREFIX_STEPS), (steps, sweep.PREFIX_STEPS)


def test_chapters_3_and_6_share_their_runs():
    """Chapter 6's runs at decay 1 and 3 are chapter 3's phase-diagram runs (its first STEPS
    of them), and its 10,000-step check runs at decay 1 are chapter 3's grid family: the
    same run keys, so the run cache holds them once."""
    ch3 = chapter_values(ROOT / "book" / "03_grids_and_circles.md", "settings", "PHASE_STEPS")
    ch6 = chapter_values(ROOT / "book" / "06_weight_decay.md", "STEPS", "CHECK", "B", "check",
                         replace=replace, GRID_RECIPE=GRID_RECIPE)
    steps = ch6["STEPS"]
    assert steps < ch3["PHASE_STEPS"] and steps in sweep.PREFIX_STEPS
    decays = [1.0, 3.0]
    assert set(decays) <= set(ch3["settings"]["weight_decay"]) and GRID_RECIPE.model.embed_scale in ch3["settings"]["embed_scale"]
    phase = sweep_configs(GRID_RECIPE, seeds=range(16), weight_decay=decays, embed_scale=[GRID_RECIPE.model.embed_scale])
    ours = [c for s in ("biases: decay 1 on all", "biases: decay 3 on all")
            for c in sweep_configs(ch6["check"][s], seeds=range(16))]
    assert [sweep.run_key(c, steps) for c in phase] == [sweep.run_key(c, steps) for c in ours]
    family = [c for c in sweep_configs(GRID_RECIPE, seeds=range(16)) if c.seed in ch6["CHECK"]]
    assert ([sweep.run_key(c, 10_000) for c in family]
            == [sweep.run_key(c, 10_000) for c in sweep_configs(ch6["check"]["biases: decay 1 on all"], seeds=ch6["CHECK"])])


def test_the_run_key_tells_configs_apart_that_compare_equal():
    """Why the test above compares run keys, not configs: decay 1 (an int) equals 1.0, but a
    run keyed by it is another cache entry."""
    a, b = replace(GRID_RECIPE, weight_decay=1.0), replace(GRID_RECIPE, weight_decay=1)
    assert a == b and sweep.run_key(a, 100) != sweep.run_key(b, 100)


def test_the_appendix_names_real_tool_tests_that_exist():
    """The appendix sums the test files that use the real tools (REAL_TOOLS): each exists."""
    tools = chapter_values(ROOT / "book" / "appendix_benchmarks.md", "REAL_TOOLS")["REAL_TOOLS"]
    assert tools and all((ROOT / f).is_file() for f in tools), tools


def test_the_build_benchmark_ran_the_test_commands_workers():
    """The appendix divides by the build benchmark's pytest workers: the test command's."""
    build = json.loads((ROOT / "benchmarks" / "results" / "build.json").read_text())
    workers = int(re.search(r"pytest tests -n (\d+)", (ROOT / "scripts" / "test.sh").read_text()).group(1))
    assert build["pytest_workers"] == workers


def test_the_checks_can_fail(monkeypatch, tmp_path):
    """Each check finds a planted breach."""
    monkeypatch.setattr(sweep, "PREFIX_STEPS", (100, 300, 2_000, 5_000))        # no 1,000 or 3,000
    for test in (test_chapter_6s_shorter_runs_are_prefixes_of_its_longest, test_chapters_3_and_6_share_their_runs):
        with pytest.raises(AssertionError):
            test()
    monkeypatch.undo()
    book = tmp_path / "book"
    book.mkdir()
    md = (ROOT / "book" / "06_weight_decay.md").read_text()
    (book / "06_weight_decay.md").write_text(md.replace('"biases: decay 3 on all": replace(B, weight_decay=3.0)',
                                                        '"biases: decay 3 on all": replace(B, weight_decay=3)'))
    (book / "03_grids_and_circles.md").write_text((ROOT / "book" / "03_grids_and_circles.md").read_text())
    appendix = (ROOT / "book" / "appendix_benchmarks.md").read_text()
    (book / "appendix_benchmarks.md").write_text(appendix.replace('"tests/integration/test_kit.py"', '"tests/x.py"'))
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "build.json").write_text(json.dumps({"pytest_workers": 3}))
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "test.sh").write_text((ROOT / "scripts" / "test.sh").read_text())
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    for test in (test_chapters_3_and_6_share_their_runs, test_the_appendix_names_real_tool_tests_that_exist,
                 test_the_build_benchmark_ran_the_test_commands_workers):
        with pytest.raises(AssertionError):
            test()


def test_the_book_law_names_a_bad_family():
    from modadd import book
    with pytest.raises(ValueError, match="family must be one of .*got family='bias'"):
        book.formation_law("bias")
