// A lexer that follows Nix's own flex rules (lexer.l of Nix 2.x): longest match wins,
// ties go to the earlier rule, and a stack of modes handles strings, indented strings
// and interpolated paths exactly like the flex start conditions.
import { type LineMap, NixError } from "./errors.ts";

export interface Token {
  kind: string;
  /** Literal text of ids, numbers, paths and string pieces (escapes already decoded). */
  value: string;
  start: number;
  end: number;
  /** For indented-string pieces: false when the piece came from an escape (`''\n`, `'''`, `''$`). */
  literal?: boolean;
}

const KEYWORDS = new Set(["if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"]);
const PUNCT3 = ["..."];
const PUNCT2 = ["==", "!=", "<=", ">=", "&&", "||", "->", "//", "++", "${"];
const PUNCT1 = new Set("{}[]();:,@?.=<>+-*/!".split(""));

const RE = {
  id: /[a-zA-Z_][a-zA-Z0-9_'-]*/y,
  int: /[0-9]+/y,
  float: /(?:[1-9][0-9]*\.[0-9]*|0?\.[0-9]+)(?:[Ee][+-]?[0-9]+)?/y,
  pathSegInterp: /[a-zA-Z0-9._+-]*\/\$\{/y,
  hpathStartInterp: /~\/\$\{/y,
  path: /[a-zA-Z0-9._+-]*(?:\/[a-zA-Z0-9._+-]+)+\/?/y,
  hpath: /~(?:\/[a-zA-Z0-9._+-]+)+\/?/y,
  spath: /<[a-zA-Z0-9._+-]+(?:\/[a-zA-Z0-9._+-]+)*>/y,
  uri: /[a-zA-Z][a-zA-Z0-9+\-.]*:[a-zA-Z0-9%/?:@&=+$,\-_.!~*']+/y,
  ws: /[ \t\r\n]+/y,
  lineComment: /#[^\r\n]*/y,
  blockComment: /\/\*(?:[^*]|\*+[^*/])*\*+\//y,
  inPath: /[a-zA-Z0-9._+-]*(?:\/[a-zA-Z0-9._+-]+)+\/?|[a-zA-Z0-9._+-]*\/|[a-zA-Z0-9._+-]+/y,
  indOpen: /''(?: *\n)?/y,
};

const PATH_CHAR = /[a-zA-Z0-9._+-]/;
const URI_CHAR = /[a-zA-Z0-9+\-.]/;

/**
 * Where the run of `cls` characters that contains `at` ends. The path and URI rules
 * scan such a run before they can fail; knowing its end (remembered across the tokens
 * of one run) lets the lexer skip rules that cannot match, so lexing stays linear.
 */
class RunEnd {
  private end = -1;
  private readonly cls: RegExp;
  constructor(cls: RegExp) {
    this.cls = cls;
  }
  from(src: string, at: number): number {
    if (at >= this.end) {
      let j = at;
      while (j < src.length && this.cls.test(src[j]!)) j++;
      this.end = j;
    }
    return this.end;
  }
}

function match(re: RegExp, src: string, at: number): number {
  re.lastIndex = at;
  return re.test(src) ? re.lastIndex - at : 0;
}

/** Decodes `\x` escapes of a double-quoted string piece and normalises raw CR / CRLF to LF, like Nix. */
function decodeEscapes(s: string): string {
  if (!s.includes("\\") && !s.includes("\r")) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\" && i + 1 < s.length) {
      const n = s[++i]!;
      out += n === "n" ? "\n" : n === "r" ? "\r" : n === "t" ? "\t" : n === "\r" ? "\n" : n;
      if (n === "\r" && s[i + 1] === "\n") i++;
    } else if (c === "\r") {
      out += "\n";
      if (s[i + 1] === "\n") i++;
    } else out += c;
  }
  return out;
}

type Mode = "default" | "string" | "ind" | "inpath" | "inpathSlash";

/** Splits Nix source text into tokens; throws `NixError` (kind "syntax") on text no rule accepts. */
export function tokenize(src: string, lm: LineMap): Token[] {
  const tokens: Token[] = [];
  const modes: Mode[] = ["default"];
  const pathRun = new RunEnd(PATH_CHAR);
  const uriRun = new RunEnd(URI_CHAR);
  let i = 0;
  const push = (kind: string, value: string, start: number, end: number, literal?: boolean) => {
    const t: Token = { kind, value, start, end };
    if (literal !== undefined) t.literal = literal;
    tokens.push(t);
    i = end;
  };
  const fail = (at: number, what: string): never => {
    throw new NixError("syntax", what, lm.at(at));
  };

  while (true) {
    const mode = modes[modes.length - 1]!;
    if (mode === "string") {
      if (i >= src.length) fail(i, "expected '\"' closing the string, found end of file");
      const c = src[i];
      if (c === '"') {
        modes.pop();
        push('"', '"', i, i + 1);
        continue;
      }
      if (c === "$" && src[i + 1] === "{") {
        modes.push("default");
        push("${", "${", i, i + 2);
        continue;
      }
      // A run of text: `\x` escapes anything; `$$` is two literal dollars (so `$${` is not interpolation).
      let j = i;
      while (j < src.length) {
        const d = src[j];
        if (d === '"') break;
        if (d === "\\") j += 2;
        else if (d === "$") {
          if (src[j + 1] === "{") break;
          j += src[j + 1] === "$" ? 2 : 1;
        } else j++;
      }
      if (j > src.length) fail(src.length, "expected '\"' closing the string, found end of file");
      push("str", decodeEscapes(src.slice(i, j)), i, j);
      continue;
    }
    if (mode === "ind") {
      if (i >= src.length) fail(i, "expected \"''\" closing the indented string, found end of file");
      if (src.startsWith("''$", i)) {
        push("indstr", "$", i, i + 3, false);
        continue;
      }
      if (src.startsWith("'''", i)) {
        push("indstr", "''", i, i + 3, false);
        continue;
      }
      if (src.startsWith("''\\", i)) {
        if (i + 3 >= src.length) fail(i, "expected \"''\" closing the indented string, found end of file");
        let end = i + 4;
        if (src[i + 3] === "\r" && src[i + 4] === "\n") end++;
        push("indstr", decodeEscapes(src.slice(i + 2, end)), i, end, false);
        continue;
      }
      if (src.startsWith("''", i)) {
        modes.pop();
        push("''close", "''", i, i + 2);
        continue;
      }
      if (src.startsWith("${", i)) {
        modes.push("default");
        push("${", "${", i, i + 2);
        continue;
      }
      // Text run: `$` not before `{` or `'`, `'` not before `'` or `$` (longest match
      // beats the one-character `$` and `'` rules below).
      let j = i;
      while (j < src.length) {
        const d = src[j];
        if (d === "$") {
          const n = src[j + 1];
          if (n === undefined || n === "{" || n === "'") break;
          j += 2;
        } else if (d === "'") {
          const n = src[j + 1];
          if (n === undefined || n === "'" || n === "$") break;
          j += 2;
        } else j++;
      }
      if (j > i) push("indstr", src.slice(i, j), i, j, true);
      else push("indstr", src[i]!, i, i + 1, false);
      continue;
    }
    if (mode === "inpath" || mode === "inpathSlash") {
      if (src.startsWith("${", i)) {
        modes[modes.length - 1] = "inpath";
        modes.push("default");
        push("${", "${", i, i + 2);
        continue;
      }
      const n = match(RE.inPath, src, i);
      if (n > 0) {
        const text = src.slice(i, i + n);
        modes[modes.length - 1] = text.endsWith("/") ? "inpathSlash" : "inpath";
        push("str", text, i, i + n);
        continue;
      }
      if (mode === "inpathSlash") fail(i, "expected more of the path after '/' (a path cannot end with a slash)");
      modes.pop();
      push("pathend", "", i, i);
      continue;
    }

    // Default mode.
    const ws = Math.max(match(RE.ws, src, i), match(RE.lineComment, src, i), match(RE.blockComment, src, i));
    if (ws > 0) {
      i += ws;
      continue;
    }
    if (i >= src.length) {
      push("eof", "", i, i);
      return tokens;
    }
    if (src.startsWith("/*", i)) fail(i, "expected '*/' closing the comment, found end of file");
    const c = src[i]!;
    if (c === '"') {
      modes.push("string");
      push('"', '"', i, i + 1);
      continue;
    }
    const ind = match(RE.indOpen, src, i);
    if (ind > 0) {
      modes.push("ind");
      push("''open", "''", i, i + ind);
      continue;
    }
    // Longest match among the regex rules; ties resolved by rule order (keywords/ids first).
    // A path needs a '/' right after its leading run of name characters; a URI a ':'.
    const maybePath = src[pathRun.from(src, i)] === "/";
    const maybeUri = i + 1 < src.length && src[uriRun.from(src, i + 1)] === ":";
    const candidates: [string, number][] = [
      ["id", match(RE.id, src, i)],
      ["int", match(RE.int, src, i)],
      ["float", match(RE.float, src, i)],
      ["pathSeg", maybePath ? match(RE.pathSegInterp, src, i) : 0],
      ["hpathStart", match(RE.hpathStartInterp, src, i)],
      ["path", maybePath ? match(RE.path, src, i) : 0],
      ["hpath", match(RE.hpath, src, i)],
      ["spath", match(RE.spath, src, i)],
      ["uri", maybeUri ? match(RE.uri, src, i) : 0],
    ];
    let best = "";
    let len = 0;
    for (const [k, n] of candidates) {
      if (n > len) {
        best = k;
        len = n;
      }
    }
    let plen = 0;
    let punct = "";
    if (src.startsWith("...", i)) punct = PUNCT3[0]!;
    else {
      const two = src.slice(i, i + 2);
      if (PUNCT2.includes(two)) punct = two;
      else if (PUNCT1.has(c)) punct = c;
    }
    plen = punct.length;
    if (plen > 0 && plen >= len) {
      if (punct === "{" || punct === "${") modes.push("default");
      else if (punct === "}" && modes.length > 1) modes.pop();
      push(punct, punct, i, i + plen);
      continue;
    }
    if (len === 0) fail(i, `expected a Nix token, found the character '${c}'`);
    const text = src.slice(i, i + len);
    switch (best) {
      case "id":
        push(KEYWORDS.has(text) ? text : "id", text, i, i + len);
        break;
      case "int":
      case "float":
      case "spath":
      case "uri":
        push(best, text, i, i + len);
        break;
      case "pathSeg":
      case "hpathStart": {
        // The path's literal start ends at its last slash; the `${` follows in path mode.
        const startLen = len - 2;
        modes.push("inpathSlash");
        push(best === "pathSeg" ? "path" : "hpath", text.slice(0, startLen), i, i + startLen);
        break;
      }
      case "path":
      case "hpath":
        modes.push(text.endsWith("/") ? "inpathSlash" : "inpath");
        push(best, text, i, i + len);
        break;
    }
  }
}
