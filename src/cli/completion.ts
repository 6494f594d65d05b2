/** `nixlab completion bash|zsh|fish` and the hidden `nixlab __complete` the scripts call. */
import { type Command, InvalidArgumentError } from "commander";
import { complete, formatCompletion } from "../completion/complete.ts";
import { type CompletionShell, completionScript, completionShells } from "../completion/scripts.ts";
import { clusterValues } from "../completion/values.ts";

const shellArg = (value: string): CompletionShell => {
  if ((completionShells as readonly string[]).includes(value)) return value as CompletionShell;
  throw new InvalidArgumentError(`use one of ${completionShells.join(", ")}`);
};

export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("Print the shell completion script: commands, flags, groups, node tags and VPN users")
    .argument("<shell>", `${completionShells.join(", ")}`, shellArg)
    .action((shell: CompletionShell) => {
      process.stdout.write(completionScript(shell));
    });

  program
    .command("__complete", { hidden: true })
    .description("Candidates for the last word (used by the completion scripts)")
    .argument("[words...]", "the words after nixlab; the last is the one being completed")
    .helpOption(false)
    .action(async (words: string[]) => {
      try {
        const completion = await complete(program, words.length > 0 ? words : [""], clusterValues(process.cwd()));
        process.stdout.write(formatCompletion(completion));
      } catch {
        // Completing must never print an error into the user's command line.
      }
    });
}
