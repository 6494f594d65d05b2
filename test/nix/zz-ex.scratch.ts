import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { evaluateNixFile } from "../../src/nix/index.ts";
import { nixEvalFile, sameAsNix } from "./nix-peer.ts";
const a = evaluateNixFile("examples/homelab/vars.nix");
const y = parse(readFileSync("examples/homelab/nixlab.yaml", "utf8"));
const n = nixEvalFile("examples/homelab/vars.nix");
console.log("ours==yaml", JSON.stringify(a) === JSON.stringify(y), sameAsNix(a, y), "ours==nix", n.ok && sameAsNix(a, (n as any).value));
