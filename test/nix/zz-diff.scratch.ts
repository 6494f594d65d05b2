import fc from "fast-check";
import { nixExpression } from "./gen.ts";
import { nixEvalMany, sameAsNix } from "./nix-peer.ts";
import { evaluateNix, NixError } from "../../src/nix/index.ts";
const n = Number(process.argv[2] ?? 500);
const seed = Number(process.argv[3] ?? 20261124);
const exprs = fc.sample(nixExpression, { numRuns: n, seed });
const t = Date.now();
const r = nixEvalMany(exprs);
console.log("nix ms", Date.now() - t);
let bad = 0;
exprs.forEach((e, i) => {
  let mine: any;
  try { mine = { ok: true, value: evaluateNix(e) }; } catch (err) { if (!(err instanceof NixError)) { mine = { ok: false, error: "INTERNAL " + (err as Error).stack }; } else mine = { ok: false, error: (err as Error).message }; }
  const nx = r[i]!;
  const same = mine.ok === nx.ok && (!mine.ok || sameAsNix(mine.value, (nx as any).value)) && !String(mine.error).startsWith("INTERNAL");
  if (!same) { bad++; if (bad <= 8) console.log("----\n" + e + "\n ours: " + JSON.stringify(mine).slice(0, 400) + "\n nix: " + JSON.stringify(nx).slice(0, 400)); }
});
console.log("mismatches", bad, "of", exprs.length);
