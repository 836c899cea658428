// Argument checks of the widget's JavaScript, at its public entry points: each names the
// value it got and what is allowed (as modadd.core.validate does for Python), and copies
// nested or flat arrays of numbers into Float64Arrays. No DOM.

// ------------------------------------------------------------------ argument checks

export function coreShow(v) {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v == null || typeof v === "bigint") return String(v);
  let s;
  try { s = JSON.stringify(v); } catch (e) { s = undefined; }
  if (s === undefined) s = Object.prototype.toString.call(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

export function coreFail(msg) {
  throw new RangeError(msg);
}

// A finite number with optional bounds; `open` makes a bound strict. Returns the number.
export function coreNumber(name, v, { min = -Infinity, max = Infinity, minOpen = false, maxOpen = false } = {}) {
  const lo = min === -Infinity ? "" : (minOpen ? `> ${min}` : `>= ${min}`);
  const hi = max === Infinity ? "" : (maxOpen ? `< ${max}` : `<= ${max}`);
  const range = lo && hi ? ` in ${minOpen ? "(" : "["}${min}, ${max}${maxOpen ? ")" : "]"}` : (lo || hi ? ` ${lo || hi}` : "");
  if (typeof v !== "number" || !Number.isFinite(v)
      || v < min || (minOpen && v === min) || v > max || (maxOpen && v === max)) {
    coreFail(`${name} must be a finite number${range}, got ${name}=${coreShow(v)}`);
  }
  return v;
}

export function coreInt(name, v, min, max = Number.MAX_SAFE_INTEGER) {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    coreFail(`${name} must be an integer ${range}, got ${name}=${coreShow(v)}`);
  }
  return v;
}

export function coreBool(name, v) {
  if (typeof v !== "boolean") coreFail(`${name} must be true or false, got ${name}=${coreShow(v)}`);
  return v;
}

export function coreChoice(name, v, allowed) {
  if (!allowed.includes(v)) coreFail(`${name} must be one of ${allowed.map(coreShow).join(", ")}, got ${name}=${coreShow(v)}`);
  return v;
}

export function coreObject(name, v) {
  if (v === null || typeof v !== "object" || Array.isArray(v)) coreFail(`${name} must be an object, got ${name}=${coreShow(v)}`);
  return v;
}

export function coreUnknownKeys(name, obj, allowed) {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) coreFail(`${name} has an unknown key ${coreShow(k)}; allowed: ${allowed.join(", ")}`);
  }
}

// Copy a nested (rows x cols) array, a flat array or a typed array of rows*cols finite numbers into out.
export function coreMatrix(name, v, rows, cols, out, offset) {
  const shape = cols === 0 ? `(${rows},)` : `(${rows}, ${cols})`;
  const bad = (why) => coreFail(`${name} must be ${cols === 0 ? "a list" : "a nested list"} of shape ${shape} of finite numbers; ${why}`);
  if (v == null || typeof v !== "object" || typeof v.length !== "number") bad(`got ${name}=${coreShow(v)}`);
  if (cols === 0 || (v.length === rows * cols && typeof v[0] === "number")) {
    const len = cols === 0 ? rows : rows * cols;
    if (v.length !== len) bad(`got length ${v.length}`);
    for (let i = 0; i < len; i++) {
      const x = v[i];
      if (typeof x !== "number" || !Number.isFinite(x)) bad(`got ${name}[${i}]=${coreShow(x)}`);
      out[offset + i] = x;
    }
    return;
  }
  if (v.length !== rows) bad(`got ${v.length} rows`);
  for (let r = 0; r < rows; r++) {
    const row = v[r];
    if (row == null || typeof row.length !== "number" || row.length !== cols) bad(`row ${r} is ${coreShow(row)}`);
    for (let c = 0; c < cols; c++) {
      const x = row[c];
      if (typeof x !== "number" || !Number.isFinite(x)) bad(`got ${name}[${r}][${c}]=${coreShow(x)}`);
      out[offset + r * cols + c] = x;
    }
  }
}

export function coreNested(flat, offset, rows, cols) {
  if (cols === 0) return Array.from(flat.subarray(offset, offset + rows));
  const out = new Array(rows);
  for (let r = 0; r < rows; r++) out[r] = Array.from(flat.subarray(offset + r * cols, offset + (r + 1) * cols));
  return out;
}
