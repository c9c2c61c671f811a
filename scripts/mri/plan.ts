/**
 * The MRI study's flags and plan, shared by scripts/mri-recon.ts and scripts/mri-sweep.ts:
 * models as paths (or name=path), the held-out slices, the settings, and the series × R_inf
 * cells of the sweep.
 *
 * @module
 */
import { scaledAcs } from "../../src/mri/masks.ts";
import { UsageError } from "../cli.ts";
import { type ModelInfo, type ModelSpec, parseModels } from "../transfer/models.ts";
import { type MriCellSpec, mriCellSpec } from "./cells.ts";
import { type HeldOut, type MriMethod, mriTraining, type ReconSettings } from "./recon.ts";
import type { MriSeries } from "./report.ts";

/**
 * Models as `path` or `name=path`, comma separated; a bare path is named by its last part.
 *
 * @param arg the flag's value
 * @returns the specs
 * @example
 * ```ts
 * import { parseModelPaths } from "./plan.ts";
 * parseModelPaths("fixtures/models/mri-r4,fs=runs/x"); // mri-r4 and fs
 * ```
 */
export function parseModelPaths(arg: string): ModelSpec[] {
  const named = arg.split(",").filter((s) => s.trim() !== "").map((s) => {
    if (s.includes("=")) return s;
    const path = s.trim().replace(/\/+$/, "");
    return `${path.slice(path.lastIndexOf("/") + 1).replace(/\.safetensors$/, "")}=${path}`;
  });
  return parseModels(named.join(","));
}

/**
 * A comma-separated list of integers ≥ lo.
 *
 * @param v the flag's text
 * @param flag its name
 * @param lo the smallest allowed
 * @returns the numbers
 */
export function intList(v: string, flag: string, lo: number): number[] {
  const out = v.split(",").filter((s) => s.trim() !== "").map(Number);
  if (out.length === 0 || out.some((x) => !(Number.isInteger(x) && x >= lo))) {
    throw new UsageError(`--${flag} must be integers ≥ ${lo}, comma separated, got "${v}"`);
  }
  return out;
}

/**
 * The ACS width of the inference masks: the one the priors were trained with (they must
 * agree), else the paper's fraction 20/320 of the width.
 *
 * @param infos the priors
 * @param width W
 * @returns the ACS width
 */
export function studyAcs(infos: readonly ModelInfo[], width: number): number {
  const acs = [...new Set(infos.map((m) => mriTraining(m.config).acs))];
  if (acs.length > 1) {
    throw new UsageError(`the priors were trained with different ACS widths (${acs}); give --acs`);
  }
  return acs[0] ?? scaledAcs(width);
}

/** One cell of the plan and the prior it needs. */
export interface PlannedCell {
  /** Its series. */
  series: MriSeries;
  /** The prior (null for the classical methods). */
  info: ModelInfo | null;
  /** The cell. */
  spec: MriCellSpec;
}

/**
 * The study's series: per prior A-DPS (+ A-OS) for an ambient one, FS-DPS for a fully
 * sampled one; then the classical methods.
 *
 * @param infos the priors, in order
 * @param classical the classical methods to add
 * @returns the series with their priors
 */
export function studySeries(
  infos: readonly ModelInfo[],
  classical: readonly MriMethod[],
): { series: MriSeries; info: ModelInfo | null }[] {
  const out: { series: MriSeries; info: ModelInfo | null }[] = [];
  const add = (method: MriMethod, info: ModelInfo | null, label: string) => {
    const taken = out.some((o) => o.series.label === label);
    const unique = taken && info ? `${label} [${info.name}]` : label;
    out.push({ series: { label: unique, method, model: info?.name ?? null }, info });
  };
  for (const m of infos) {
    if (!m.config.ambient) add("FS-DPS", m, "FS-DPS (fully sampled)");
  }
  for (const m of infos) {
    if (m.config.ambient) add("A-DPS", m, `A-DPS (R_train ${mriTraining(m.config).r})`);
  }
  for (const m of infos) {
    if (m.config.ambient) add("A-OS", m, `A-OS (R_train ${mriTraining(m.config).r})`);
  }
  for (const c of classical) add(c, null, c);
  return out;
}

/**
 * Every series × R_inf cell.
 *
 * @param series the series with their priors
 * @param rs the inference accelerations
 * @param s the settings
 * @param data the held-out slices
 * @returns the cells, series by series
 */
export function planCells(
  series: readonly { series: MriSeries; info: ModelInfo | null }[],
  rs: readonly number[],
  s: ReconSettings,
  data: HeldOut,
): PlannedCell[] {
  return series.flatMap(({ series, info }) =>
    rs.map((r) => ({ series, info, spec: mriCellSpec(series.method, info, r, s, data) }))
  );
}

/**
 * `--shard i/n` as [i, n] (1 ≤ i ≤ n).
 *
 * @param v the flag's text
 * @returns i and n
 */
export function parseShard(v: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(i >= 1 && n >= 1 && i <= n)) {
    throw new UsageError(`--shard must be i/n with 1 ≤ i ≤ n, got "${v}"`);
  }
  return [i, n];
}

/**
 * The cells of shard i of n: every n-th, from the (i−1)-th (so the costly DPS cells spread).
 *
 * @param cells the plan
 * @param shard [i, n]
 * @returns this shard's cells
 */
export function shardCells<T>(cells: readonly T[], shard: readonly [number, number]): T[] {
  return cells.filter((_, j) => j % shard[1] === shard[0] - 1);
}
