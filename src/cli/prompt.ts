/**
 * Questions on the terminal (stderr, so stdout stays data), through @inquirer's prompts:
 * text with a default, hidden input, yes/no and a choice. Ctrl-C or a closed terminal
 * becomes a UserError, so a cancelled command says so instead of printing a trace.
 */
import confirm from "@inquirer/confirm";
import input from "@inquirer/input";
import password from "@inquirer/password";
import select from "@inquirer/select";
import { UserError } from "../errors.ts";
import type { Prompter } from "../init/wizard.ts";

const context = { input: process.stdin, output: process.stderr };

async function asked<T>(question: Promise<T>, what: string): Promise<T> {
  try {
    return await question;
  } catch (error) {
    if (error instanceof Error && (error.name === "ExitPromptError" || error.name === "AbortPromptError")) {
      throw new UserError(`${what} cancelled; nothing was written`);
    }
    throw error;
  }
}

/** Whether questions can be asked: stdin and stderr are terminals. */
export const canPrompt = (): boolean => Boolean(process.stdin.isTTY && process.stderr.isTTY);

/** Hidden input on the terminal (nothing echoed), for one secret value. */
export function askSecret(message: string, what: string): Promise<string> {
  return asked(password({ message }, context), what);
}

/** A Prompter on this process's terminal; `what` names the command in the cancel message. */
export function terminalPrompter(what: string): Prompter {
  const check = (validate?: (value: string) => string | undefined) => (value: string) => validate?.(value) ?? true;
  return {
    text: (message, options = {}) =>
      asked(
        input(
          {
            message,
            ...(options.default !== undefined && options.default !== "" ? { default: options.default } : {}),
            validate: check(options.validate),
          },
          context,
        ),
        what,
      ),
    secret: (message, options = {}) => asked(password({ message, validate: check(options.validate) }, context), what),
    confirm: (message, defaultValue) => asked(confirm({ message, default: defaultValue }, context), what),
    choose: (message, choices, defaultValue) =>
      asked(
        select(
          {
            message,
            choices: choices.map((c) => ({ value: c.value, name: c.name })),
            ...(defaultValue ? { default: defaultValue } : {}),
          },
          context,
        ),
        what,
      ),
    say: (line) => process.stderr.write(`${line}\n`),
  };
}
