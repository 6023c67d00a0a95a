// Pesto's URL pattern grammar, parsed once into tokens from which both the
// matcher and the URL builder are derived:
//
//   pattern     = *( literal / placeholder )
//   placeholder = "<" [ name ] ":" converter [ "(" [ arg *( "," arg ) ] ")" ] ">"
//   name        = identifier            ; empty: anonymous, numbered 0, 1, …
//   converter   = identifier
//   arg         = quoted string ('…' or "…", backslash escapes the quote)
//
// No eval: arguments are string literals read by this parser.
import { encodePath } from "./request.ts";

/**
 * A URL converter: the regex its placeholder matches (against the
 * percent-encoded path), how matched text becomes a value, and how a value
 * becomes URL text.
 */
export interface Converter<T = unknown> {
  /** A regex source without capturing groups, matched on the encoded path. */
  readonly pattern: string;
  /** Decoded text to value; throwing means "no match". */
  parse(text: string): T;
  /** Value to decoded text (it is percent-encoded afterwards). */
  format(value: T): string;
  /**
   * Makes a variant from pattern arguments (`<x:name('a', 'b')>`). Without
   * it, a single argument replaces `pattern`.
   */
  withArgs?(...args: string[]): Converter<T>;
  /** Whether matches may span `/` (only `path` does). */
  readonly spansSegments?: boolean;
}

/** One parsed piece of a pattern. */
export type Token =
  | { kind: "literal"; text: string }
  | {
    kind: "param";
    key: string | number;
    converter: Converter;
    regex: string;
    source: string;
  };

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Parses `pattern`; throws a SyntaxError or TypeError naming the problem. */
export function parsePattern(
  pattern: string,
  converters: Readonly<Record<string, Converter>>,
): Token[] {
  const fail = (why: string, Kind = SyntaxError): never => {
    throw new Kind(`Cannot parse route "${pattern}": ${why}`);
  };
  if (!pattern.startsWith("/")) fail('a pattern must start with "/"');
  const tokens: Token[] = [];
  const names = new Set<string>();
  let anonymous = 0;
  let literal = "";
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === ">") fail(`unexpected ">" at position ${i}`);
    if (c !== "<") {
      literal += c;
      i++;
      continue;
    }
    const start = i;
    i++;
    IDENT.lastIndex = i;
    const name = IDENT.exec(pattern)?.[0] ?? "";
    i += name.length;
    if (pattern[i] !== ":") {
      fail(
        `placeholder at position ${start} needs ":converter", as in <${
          name || "id"
        }:int>`,
      );
    }
    i++;
    IDENT.lastIndex = i;
    const converterName = IDENT.exec(pattern)?.[0];
    if (!converterName) {
      fail(`placeholder at position ${start} has no converter name`);
    }
    i += converterName!.length;
    let args: string[] | undefined;
    if (pattern[i] === "(") {
      const parsed = parseArgs(pattern, i + 1, fail);
      args = parsed.args;
      i = parsed.end;
    }
    if (i >= pattern.length) fail(`missing ">" after position ${start}`);
    if (pattern[i] !== ">") fail(`unexpected "${pattern[i]}" at position ${i}`);
    i++;
    const base = converters[converterName!];
    if (!base) {
      fail(`converter "${converterName}" is not registered`, TypeError);
    }
    const converter = withArgs(
      base,
      args,
      (why) => fail(`${converterName}(): ${why}`, TypeError),
    );
    checkRegex(
      converter.pattern,
      (why) => fail(`converter "${converterName}": ${why}`, TypeError),
    );
    if (name && names.has(name)) {
      fail(`placeholder name "${name}" is used twice`);
    }
    if (name) names.add(name);
    if (literal) tokens.push({ kind: "literal", text: literal });
    literal = "";
    tokens.push({
      kind: "param",
      key: name || anonymous++,
      converter,
      regex: converter.pattern,
      source: pattern.slice(start, i),
    });
  }
  if (literal) tokens.push({ kind: "literal", text: literal });
  return tokens;
}

function parseArgs(
  pattern: string,
  from: number,
  fail: (why: string) => never,
): { args: string[]; end: number } {
  const args: string[] = [];
  let i = from;
  const skipSpace = () => {
    while (pattern[i] === " ") i++;
  };
  skipSpace();
  if (pattern[i] === ")") return { args, end: i + 1 };
  while (true) {
    skipSpace();
    const quote = pattern[i];
    if (quote !== "'" && quote !== '"') {
      fail(`converter arguments must be quoted strings (position ${i})`);
    }
    i++;
    let value = "";
    while (i < pattern.length && pattern[i] !== quote) {
      if (
        pattern[i] === "\\" &&
        (pattern[i + 1] === quote || pattern[i + 1] === "\\")
      ) {
        value += pattern[i + 1];
        i += 2;
      } else value += pattern[i++];
    }
    if (i >= pattern.length) fail("unterminated string in converter arguments");
    i++;
    args.push(value);
    skipSpace();
    if (pattern[i] === ",") {
      i++;
      continue;
    }
    if (pattern[i] === ")") return { args, end: i + 1 };
    fail(`expected "," or ")" in converter arguments (position ${i})`);
  }
}

function withArgs(
  base: Converter,
  args: string[] | undefined,
  fail: (why: string) => never,
): Converter {
  if (args === undefined) return base;
  if (base.withArgs) return base.withArgs(...args);
  if (args.length !== 1) fail("takes one argument, a regex");
  return { ...base, pattern: args[0] };
}

/** Checks that a converter's regex compiles and has no capturing groups. */
function checkRegex(source: string, fail: (why: string) => never): void {
  let groups: number;
  try {
    groups = new RegExp(`(?:${source})|`).exec("")!.length - 1;
  } catch (error) {
    return fail(`invalid regex /${source}/: ${(error as Error).message}`);
  }
  if (groups > 0) {
    fail(`regex /${source}/ has capturing groups: use (?:…) instead`);
  }
  if (source === "") fail("empty regex");
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/** Escapes text for use inside a regex. */
export function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, "\\$&");
}

/** The encoded form of a pattern's literal text, as it appears in paths. */
export function encodeLiteral(text: string): string {
  return encodePath(text);
}
