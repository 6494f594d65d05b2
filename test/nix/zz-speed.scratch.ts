import fc from "fast-check";
import { nixExpression } from "./gen.ts";
import { nixEvalMany } from "./nix-peer.ts";
const exprs = fc.sample(nixExpression, { numRuns: 300, seed: 20261124 });
const t = Date.now();
const r = nixEvalMany(exprs);
console.log("ms", Date.now() - t, "fails", r.filter((x) => !x.ok).length, "len", exprs.map(e=>e.length).reduce((a,b)=>a+b)/exprs.length);
