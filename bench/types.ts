/** One printed figure of `npm run bench`: a measurement and, when there is one, its baseline from the same run. */
export interface BenchRow {
  /** What was measured, e.g. "build: example cluster (process start included)". */
  name: string;
  value: number;
  unit: "ms" | "s" | "MiB" | "count" | "x";
  /** The baseline measured in the same run, e.g. `sops decrypt` on the same file. */
  baseline?: { name: string; value: number };
  /** The goal from ARCHITECTURE §7 or the issue, e.g. "≤ 1.5× node -e 0". */
  goal?: string;
  /** Whether the goal was met; omitted when there is no goal. */
  met?: boolean;
  /** For a missed goal: by how much, and why (measured, e.g. where the time goes). */
  why?: string;
}

/** A bench case module (bench/cases/*.ts) default-exports one of these. */
export type BenchCase = () => Promise<BenchRow[]>;
