/** Runs the nixlab CLI in-process and captures what it prints. */
import { stripVTControlCharacters } from "node:util";
import { main } from "../../src/cli/main.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], cwd?: string): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const previousCwd = process.cwd();
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  const previousExitCode = process.exitCode;
  try {
    if (cwd) process.chdir(cwd);
    process.exitCode = undefined;
    const code = await main(args);
    // picocolors colours piped output when CI is set (as CI logs expect); tests compare text.
    return { code, stdout: stripVTControlCharacters(stdout), stderr: stripVTControlCharacters(stderr) };
  } finally {
    process.chdir(previousCwd);
    process.exitCode = previousExitCode;
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
