import { ExitCode, UserError } from "../errors.ts";

/** A source location: file name (or "<string>"), 1-based line and column. */
export interface NixLocation {
  file: string;
  line: number;
  column: number;
}

export function formatLocation(loc: NixLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/**
 * Every failure of the Nix parser, evaluator or printer. The message starts with
 * `file:line:column: ` when the failure has a place in a source file.
 * `kind` tells what Nix itself would do: "thrown" (from `throw`) and "assert" are
 * caught by `builtins.tryEval`; every other kind is not.
 */
export class NixError extends UserError {
  readonly kind: "syntax" | "eval" | "thrown" | "assert" | "unsupported" | "print";
  /** The message without the location prefix. */
  readonly reason: string;
  location: NixLocation | undefined;

  constructor(kind: NixError["kind"], reason: string, location?: NixLocation) {
    super(location ? `${formatLocation(location)}: ${reason}` : reason, { exitCode: ExitCode.invalidInput });
    this.name = "NixError";
    this.kind = kind;
    this.reason = reason;
    this.location = location;
  }

  /** Adds the location when the error has none yet (errors raised deep inside a builtin). */
  locate(location: NixLocation | undefined): this {
    if (!this.location && location) {
      this.location = location;
      this.message = `${formatLocation(location)}: ${this.reason}`;
    }
    return this;
  }
}

/** Maps character offsets to 1-based line and column, built once per source text. */
export class LineMap {
  readonly file: string;
  /** Directory that relative paths in this source resolve against (set by the evaluator). */
  baseDir: string;
  private readonly starts: number[] = [0];

  constructor(source: string, file: string, baseDir = process.cwd()) {
    this.file = file;
    this.baseDir = baseDir;
    for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  at(offset: number): NixLocation {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}
