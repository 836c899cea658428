// The WebAssembly the widget ships (src/modadd/web/kernels_wasm.js) is exactly what the npm
// package wabt assembles from its readable source today (src/modadd/web/kernels.wat), with
// tools/assemble_wasm.mjs; and it is a module this engine runs.
// Run from the repository root: node --test tests/js/ (after npm ci --prefix tests/js)
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { assemble, moduleText } from "../../tools/assemble_wasm.mjs";
import { KERNELS_WASM_BASE64 } from "../../src/modadd/web/kernels_wasm.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

test("the shipped WebAssembly is what wabt assembles from kernels.wat", async () => {
  const bytes = await assemble();
  assert.equal(KERNELS_WASM_BASE64, bytes.toString("base64"), "kernels_wasm.js is stale: run node tools/assemble_wasm.mjs");
  assert.equal(fs.readFileSync(path.join(ROOT, "src/modadd/web/kernels_wasm.js"), "utf8"), moduleText(bytes));
  assert.ok(WebAssembly.validate(bytes));
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name).sort();
  assert.deepEqual(exports, ["pass", "repel", "work_bytes"]);
});

test("no hand encoder is left: the web files carry no WebAssembly opcodes", () => {
  for (const f of fs.readdirSync(path.join(ROOT, "src/modadd/web")).filter((f) => f.endsWith(".js"))) {
    const text = fs.readFileSync(path.join(ROOT, "src/modadd/web", f), "utf8");
    assert.ok(!/coreLeb|coreWasmOps|0x61, 0x73, 0x6d/.test(text), `${f} still assembles WebAssembly by hand`);
  }
});
