// The widget's own pseudo-random numbers (mulberry32 on a hashed seed and stream), the same
// in Node and browsers; modadd.widget.WidgetRng is the same generator in Python.

import { coreInt } from "./checks.js";

// ------------------------------------------------------------------ random numbers

function coreMix32(x) {
  // a 32-bit integer hash (the finaliser of murmur3)
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A seeded pseudo-random generator (mulberry32 on a hashed seed and stream).
 * `seed`: an integer in [0, 2^53); `stream`: an integer naming an independent stream
 * (this file uses 1 for initialisations, 2 for splits, 3 for particle starts).
 * Returns {uniform() in [0, 1) with 53 random bits, normal() standard normal (Box-Muller),
 * uint32()}. The same (seed, stream) always gives the same numbers, in Node and browsers.
 */
export function makeRng(seed, stream = 0) {
  coreInt("seed", seed, 0);
  coreInt("stream", stream, 0, 0xffffffff);
  const lo = seed % 4294967296, hi = Math.floor(seed / 4294967296);
  let a = coreMix32(coreMix32(lo ^ 0x9e3779b9) ^ coreMix32(hi + 0x632be5ab) ^ coreMix32(stream ^ 0x85157af5));
  const uint32 = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const uniform = () => ((uint32() >>> 5) * 67108864 + (uint32() >>> 6)) / 9007199254740992;
  const normal = () => {
    const u1 = 1 - uniform();                       // (0, 1]
    const u2 = uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
  return { uint32, uniform, normal };
}
