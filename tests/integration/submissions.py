"""The class of students both grading tests hand in (test_course through the kit's commands,
test_grade_class through ``modadd grade``): one way to make a submission."""
from __future__ import annotations

import nbformat

#: A partial answer (runs, wrong) and one that never returns (the grading timeout's case).
PARTIAL = "def leak_fraction(held_out, N):\n    return 0.0\n"
LOOP = "def leak_fraction(held_out, N):\n    while True:\n        pass\n"


def ids(nb):
    """The nbgrader cells of ``nb`` by grade id."""
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def answered(release, answer: str):
    """The released notebook with ``answer`` in its leak_fraction answer cell."""
    nb = nbformat.from_dict(release)
    ids(nb)["answer-leak_fraction"].source = answer
    return nb


def class_of(release, source) -> dict:
    """Four submissions of ``release``: blank, partial, full (every solution cell as in
    ``source``, the teacher's version) and loop."""
    full = nbformat.from_dict(release)
    model = ids(source)
    for gid, cell in ids(full).items():
        if cell.metadata["nbgrader"]["solution"]:
            cell.source = model[gid].source
    return {"blank": release, "partial": answered(release, PARTIAL), "full": full, "loop": answered(release, LOOP)}
