// The live widget's view helpers that need no DOM: the residue colours.
// Run: node --test tests/js/   (scripts/test.sh does)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { residueHex } from "../../src/modadd/web/view.js";

const PYTHON = process.env.MODADD_PYTHON || ".venv/bin/python";

test("residue colours are modadd.plots.residue_colors", () => {
  const ns = [7, 17, 97];
  const py = JSON.parse(execFileSync(PYTHON, ["-c",
    `import json; from modadd.plots import residue_colors; print(json.dumps({n: residue_colors(n) for n in ${JSON.stringify(ns)}}))`],
    { encoding: "utf8" }));
  for (const n of ns) {
    const js = Array.from({ length: n }, (_, r) => residueHex(r, n));
    assert.deepEqual(js, py[String(n)].map((c) => c.toLowerCase()));
  }
});
