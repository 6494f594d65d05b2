/** Reading the node specs back from a build directory (what `nodes apply|install` act on). */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ExitCode, UserError } from "../errors.ts";
import { recoverBuildDir } from "../render/write.ts";
import { type NodeSpec, nodeSpecSchema } from "./spec.ts";

/**
 * Every nodes/*.json of `buildDir`, validated, sorted by hostname. A build killed while it
 * swapped `buildDir` is undone first (recoverBuildDir; its notes go to `log`).
 */
export function readBuildSpecs(buildDir: string, log: (note: string) => void = () => {}): NodeSpec[] {
  for (const note of recoverBuildDir(buildDir)) log(note);
  const dir = join(buildDir, "nodes");
  if (!existsSync(join(buildDir, "flake.nix")) || !existsSync(dir)) {
    throw new UserError(`${buildDir} holds no NixOS build (flake.nix and nodes/ are missing)`, {
      exitCode: ExitCode.invalidInput,
      details: ["  run `nixlab build` first, or pass --build DIR"],
    });
  }
  const specs: NodeSpec[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const path = join(dir, file);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, "utf8"));
    } catch (cause) {
      throw new UserError(`${path} is not valid JSON; run \`nixlab build\` again`, { cause });
    }
    const result = nodeSpecSchema.safeParse(raw);
    if (!result.success) {
      throw new UserError(`${path} is not a node spec of this nixlab version; run \`nixlab build\` again`, {
        exitCode: ExitCode.invalidInput,
        details: result.error.issues.slice(0, 5).map((i) => `  ${i.path.join(".") || "(top level)"}: ${i.message}`),
      });
    }
    specs.push(result.data);
  }
  if (specs.length === 0) throw new UserError(`${dir} has no node specs; run \`nixlab build\` first`);
  return specs;
}
