"""How long a chapter's main text takes to read (issue 37): words of prose outside code
cells, display math and folded boxes (anything with ``:class: dropdown``), at 200 words a
minute. A chapter's main text stays within 12 minutes; the checks and bookkeeping go into
"How we checked this" folds, which do not count.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORDS_PER_MINUTE = 200
LIMIT_MINUTES = 12
#: The chapters held to the limit: all of them.
HELD = ["intro", "01_modular_addition", "02_tiny_transformer", "03_grids_and_circles",
        "04_clustering_and_alignment", "05_particles", "06_weight_decay", "07_rebuild"]

_OPEN = re.compile(r"^\s*(`{3,}|:{3,})\{([A-Za-z-]+)\}")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")


def main_text(source: str) -> str:
    """The prose a reader meets unfolded: front matter, code cells, display math, plain
    code blocks and folded boxes (``:class: dropdown``) removed, a glued value counted as
    one word."""
    source = re.sub(r"\A---\n.*?\n---\n", "", source, flags=re.S)
    lines, kept, i = source.split("\n"), [], 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        plain = lines[i].lstrip().startswith("```") and not m
        if m or plain:
            fence = (m.group(1) if m else lines[i].lstrip()[:3])
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence:
                j += 1
            body = lines[i + 1:j]
            options = [b for b in body if b.strip().startswith(":")]
            folded = any(re.search(r":class:.*\bdropdown\b", b) for b in options)
            if m and m.group(2) not in ("code-cell", "math") and not folded:
                kept.extend(b for b in body if not b.strip().startswith(":"))
            i = j + 1
            continue
        kept.append(lines[i])
        i += 1
    text = "\n".join(kept)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    return re.sub(r"\{glue:text\}`[^`]*`", "N", text)


def minutes(source: str) -> float:
    return len(_WORD.findall(main_text(source))) / WORDS_PER_MINUTE


def test_the_counter_leaves_out_code_math_and_folds():
    page = ("---\nkernelspec: {}\n---\n# Title words\n\nOne two three.\n\n"
            "```{code-cell} ipython3\nx = 1 + 2  # many words in code\n```\n\n"
            "$$\na + b = c\n$$\n\n"
            ":::{admonition} How we checked this\n:class: dropdown\nfour five six seven\n:::\n\n"
            "  :::{admonition} Nested in a list\n  :class: dropdown\n  eight nine\n  :::\n\n"
            "```{note}\nvisible words here\n```\n\nGlued {glue:text}`n_runs` runs.\n")
    assert _WORD.findall(main_text(page)) == ["Title", "words", "One", "two", "three",
                                              "visible", "words", "here", "Glued", "N", "runs"]


@pytest.mark.parametrize("stem", HELD)
def test_main_text_reads_within_12_minutes(stem):
    m = minutes((ROOT / "book" / f"{stem}.md").read_text())
    assert m <= LIMIT_MINUTES, f"{stem}: {m:.1f} minutes of main text (limit {LIMIT_MINUTES})"


def test_chapter_4_names_the_two_forces_within_its_first_5_minutes():
    text = main_text((ROOT / "book" / "04_clustering_and_alignment.md").read_text())
    before = {force: text.index(f"**{force}**") for force in ("alignment", "clustering")}
    for force, i in before.items():
        m = len(_WORD.findall(text[:i])) / WORDS_PER_MINUTE
        assert m <= 5, f"chapter 4 first names {force} in bold after {m:.1f} minutes of reading"


def _bullets_after(text: str, marker: str) -> int:
    """Top-level bullets in the list that follows ``marker`` (a heading or a bold line)."""
    rest = text[text.index(marker) + len(marker):].lstrip("\n").split("\n")
    n = 0
    for line in rest:
        if line.startswith("- "):
            n += 1
        elif line.strip() and not line.startswith("  "):
            break
    return n


#: The exercise chain has no "What we found": its findings are its exercises' answers, which a
#: student must not read before answering (it opens with What you'll learn like the others).
CHAIN = "07_rebuild"


@pytest.mark.parametrize("stem", [s for s in HELD if s != "intro"])
def test_each_chapter_opens_with_what_you_learn_and_ends_with_what_we_found(stem):
    text = (ROOT / "book" / f"{stem}.md").read_text()
    assert "**What you'll learn**" in text, f"{stem} does not open with What you'll learn"
    assert _bullets_after(text, "**What you'll learn**") == 3, stem
    if stem == CHAIN:
        assert "What we found" not in text, stem
        return
    found = "## What we found" if "## What we found" in text else "**What we found**"
    assert found in text, f"{stem} has no What we found"
    assert text.index("**What you'll learn**") < text.index(found), stem
    assert 3 <= _bullets_after(text, found) <= 5, stem
    first = "\n".join(text[text.index(found):].split("\n")[:30])
    assert "{glue:text}" in first, f"{stem}: What we found states no glued number"
