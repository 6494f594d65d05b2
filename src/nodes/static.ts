/** The static NixOS files of the repo's nix/ directory, copied verbatim into every build. */
import { readFileSync } from "node:fs";

/** Modules (and the rollback script they embed) copied to build/nix/. */
export const staticModules = [
  "node.nix",
  "base.nix",
  "disk.nix",
  "rollback.nix",
  "rollback.sh",
  "impermanence.nix",
  "sops.nix",
  "k3s.nix",
  "deploy.nix",
] as const;

const nixDir = new URL("../../nix/", import.meta.url);
const cache = new Map<string, string>();

/** The text of nix/<name> (read once; these files ship with nixlab, not with the user's cluster). */
export function staticFile(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(name, nixDir), "utf8");
    cache.set(name, text);
  }
  return text;
}
