/**
 * Dense float64 linear solves for the exactness tests' oracles (no package code involved).
 *
 * @module
 */

/**
 * Solves A X = B for symmetric positive definite A (Gauss–Jordan, f64), B with k columns.
 *
 * @param a n × n SPD matrix
 * @param b n × k right-hand sides
 * @returns X, n × k
 */
export function solve(a: number[][], b: number[][]): number[][] {
  const n = a.length, m = a.map((r, i) => [...r, ...b[i]]);
  for (let c = 0; c < n; c++) {
    const p = m[c][c];
    for (let j = 0; j < m[c].length; j++) m[c][j] /= p;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c];
      if (f !== 0) { for (let j = 0; j < m[r].length; j++) m[r][j] -= f * m[c][j]; }
    }
  }
  return m.map((r) => r.slice(n));
}
