// The widget's WebAssembly kernels (kernels.wat, 128-bit SIMD): the training pass (trainer.js)
// and the particles' repulsion (particles.js). The bytes are KERNELS_WASM_BASE64
// (kernels_wasm.js, generated from kernels.wat by tools/assemble_wasm.mjs with wabt); this
// file compiles them once, for every Trainer and Particles. No DOM; top-level names that are
// not exported start with `core`.

import { KERNELS_WASM_BASE64 } from "./kernels_wasm.js";

// Base64 to bytes, by hand: atob is not in every scope this file runs in.
function coreBase64Bytes(b64) {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const s = b64.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0, bits = 0, o = 0;
  for (let i = 0; i < s.length; i++) {
    acc = (acc << 6) | abc.indexOf(s[i]);
    bits += 6;
    if (bits >= 8) { bits -= 8; out[o++] = (acc >> bits) & 255; }
  }
  return out;
}

let coreWasmModule;   // undefined: not tried yet; null: not available
/** The compiled kernels (a WebAssembly.Module importing env.mem), or null where the engine
 *  lacks WebAssembly or its SIMD. */
export function kernelsModule() {
  if (coreWasmModule === undefined) {
    coreWasmModule = null;
    try {
      const bytes = coreBase64Bytes(KERNELS_WASM_BASE64);
      if (typeof WebAssembly === "object" && WebAssembly.validate(bytes)) coreWasmModule = new WebAssembly.Module(bytes);
    } catch (e) {
      coreWasmModule = null;
    }
  }
  return coreWasmModule;
}
