import fc from "fast-check";
import { evaluateNix, NixError } from "../../src/nix/index.ts";
import { nixExpression } from "./gen.ts";
import * as peer from "./nix-peer.ts";
const n = Number(process.argv[2] ?? 500);
for (const seed of process.argv.slice(3).map(Number)) {
  const exprs = fc.sample(nixExpression, { numRuns: n, seed });
  const r = await peer.nixEvalMany(exprs);
  let bad = 0;
  exprs.forEach((e, i) => {
    let mine: { ok: boolean; value?: unknown; error?: string };
    try {
      mine = { ok: true, value: evaluateNix(e) };
    } catch (err) {
      mine = { ok: false, error: err instanceof NixError ? err.message : `INTERNAL ${(err as Error).stack}` };
    }
    const nx = r[i]!;
    const same = mine.ok === nx.ok && (!mine.ok || peer.sameAsNix(mine.value, (nx as { value: unknown }).value)) && !String(mine.error).startsWith("INTERNAL");
    if (!same) {
      bad++;
      if (bad <= 4) console.log(`----\n${e}\n ours: ${JSON.stringify(mine).slice(0, 500)}\n nix: ${JSON.stringify(nx).slice(0, 500)}`);
    }
  });
  console.log("seed", seed, "mismatches", bad, "of", exprs.length);
}
