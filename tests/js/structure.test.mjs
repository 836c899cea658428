// Tests of src/modadd/web/structure.js, the live readout's structure scores, against
// modadd.analysis.structure on the embeddings of tests/js/structure_reference.py (run once as a
// child process with MODADD_PYTHON, default .venv/bin/python; a failing run fails the tests).
// Run from the repository root: node --test tests/js/
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { structureScores, structureReadout } from "../../src/modadd/web/structure.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
let REF;
before(() => {
  const python = process.env.MODADD_PYTHON || ".venv/bin/python";
  const res = spawnSync(python, ["tests/js/structure_reference.py"], {
    cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, OMP_NUM_THREADS: "1", PYTHONPATH: path.join(ROOT, "src") },
  });
  if (res.error || res.status !== 0) throw new Error(`${python} tests/js/structure_reference.py failed: ${res.error || res.stderr}`);
  REF = JSON.parse(res.stdout);
});

test("structureScores matches modadd.analysis.structure.scores and reduced_rule on every reference embedding", () => {
  assert.ok(REF.length >= 40);
  const classes = new Set();
  for (const c of REF) {
    const js = structureScores(c.E);
    assert.ok(Math.abs(js.circle_score - c.circle_score) <= 1e-9, `${c.name}: circle score ${js.circle_score} vs ${c.circle_score}`);
    assert.ok(Math.abs(js.grid_score - c.grid_score) <= 1e-9, `${c.name}: grid score ${js.grid_score} vs ${c.grid_score}`);
    assert.equal(js.circle_k, c.circle_k, `${c.name}: k`);
    assert.equal(js.class, c.cls, `${c.name}: class`);
    // the rule is read only for a grid: for other shapes equally scored fits tie to the last bit
    if (c.cls === "grid") assert.deepEqual(js.rule, c.rule, `${c.name}: rule`);
    assert.equal(structureReadout(c.E), c.readout, `${c.name}: readout`);
    classes.add(c.cls);
  }
  assert.deepEqual([...classes].sort(), ["circle", "grid", "other"], "the references cover every class");
});

test("structureScores reads flat and nested embeddings alike, and refuses what has no shape", () => {
  const E = REF[0].E;
  assert.deepEqual(structureScores(E.flat()), structureScores(E));
  assert.throws(() => structureScores([[0, 0], [1, 1]]), /n >= 3/);
  assert.throws(() => structureScores([[1, 1], [1, 1], [1, 1]]), /zero spread/);
  assert.throws(() => structureScores([[0, 0], [1, NaN], [2, 2]]), /NaN/);
});
