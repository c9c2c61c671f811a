/**
 * Elementwise expressions written once in the common subset of WGSL and JavaScript
 * (`exp`, `log`, `sqrt`, `tanh`, `sin`, `cos`, `abs`, `min`, `max`, `clamp`, `select`,
 * float literals with a dot), so the WGSL kernel and its CPU twin come from one table.
 *
 * @module
 */

/** A compiled expression: inputs by position, then the two scalar params. */
export type ExprFn = (...args: number[]) => number;

const cache = new Map<string, ExprFn>();

/** The WGSL builtins an expression may use, as JavaScript functions. */
const LIB = {
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  tanh: Math.tanh,
  sin: Math.sin,
  cos: Math.cos,
  abs: Math.abs,
  min: Math.min,
  max: Math.max,
  clamp: (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi),
  select: (f: number, t: number, c: boolean) => (c ? t : f),
};

/**
 * Compiles `expr` over the named inputs plus `p0`, `p1` into a JavaScript function.
 *
 * @param expr WGSL/JS expression, e.g. "a / (1.0 + exp(-a))"
 * @param names input names in argument order
 * @returns the function (cached)
 */
export function compileExpr(expr: string, names: readonly string[]): ExprFn {
  const key = `${names.join(",")}:${expr}`;
  let fn = cache.get(key);
  if (!fn) {
    const args = [...names, "p0", "p1"].join(",");
    // The table's expressions are constants in this package, never user input.
    const make = new Function(...Object.keys(LIB), `return (${args}) => (${expr});`);
    fn = make(...Object.values(LIB)) as ExprFn;
    cache.set(key, fn);
  }
  return fn;
}
