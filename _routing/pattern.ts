// Pesto's URL pattern grammar, parsed once into tokens; the matcher steps,
// the URL builder and the checks of duplicate and unreachable routes are
// all derived from that parse.
//
//   pattern     = "/" *( literal / placeholder )
//   placeholder = "<" [ name ] ":" converter [ "(" [ arg *( "," arg ) ] ")" ] ">"
//   name        = identifier            ; empty: anonymous, numbered 0, 1, ...
//   converter   = identifier
//   arg         = [ "r" ] quoted string ; '...' or "..."; "\" escapes the quote
//                                       ; and itself, except in r'...'
//
// No eval: arguments are string literals read by this parser. Literal text
// is decoded text; it is percent-encoded once here, the way the canonical
// request path is, so it is compared with the encoded path exactly.
//
// Matching works on the canonical encoded path one segment at a time: a
// pattern is split on the "/" of its literal text into segments, and each
// segment becomes one step:
//   static  a segment of literal text only, compared as a string;
//   whole   a segment that is one placeholder, tested by its regex;
//   mixed   literal text and placeholders in one segment, one regex;
//   tail    from the first segment holding a placeholder that spans
//           segments (`path`) to the end of the pattern: one regex over the
//           rest of the path.
import { encodeSegment } from "../_http/path.ts";

/**
 * A URL converter: the regex its placeholder matches (against the
 * percent-encoded path), how matched text becomes a value, and how a value
 * becomes URL text.
 *
 * @typeParam T The type of its values.
 *
 * @example
 * ```ts
 * import { type Converter, DispatcherApp, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const year: Converter<number> = {
 *   pattern: /\d{4}/, // or "\\d{4}"; a RegExp must have no flags
 *   parse: (text) => Number(text),
 *   format: (value) => String(value).padStart(4, "0"),
 * };
 * const app = new DispatcherApp({ converters: { year } });
 * const archive = app.match("/archive/<y:year>", "GET", (_req, { y }) => new Response(`${y + 1}`));
 * assert.equal(await (await app.fetch(new Request("http://x/archive/2024"))).text(), "2025");
 * assert.equal(archive.path({ y: 999 }), "/archive/0999");
 * ```
 */
export interface Converter<T = unknown> {
  /**
   * A regex without capturing groups: its source as a string
   * (`"\\d{4}"`), or a `RegExp` without flags (`/\d{4}/`), whose `source`
   * is used. It is matched against the percent-encoded path, one segment
   * at a time unless `spansSegments`.
   */
  readonly pattern: string | RegExp;
  /** Decoded text to value; throwing means "no match". Must be pure. */
  parse(text: string): T;
  /** Value to decoded text (it is percent-encoded afterwards). */
  format(value: T): string;
  /**
   * Makes a variant from pattern arguments (`<x:name('a', 'b')>`). Without
   * it, a single argument replaces `pattern`. A converter that has it and
   * whose `pattern` is `(?!)` (like `any`) can only be used with arguments.
   */
  withArgs?(...args: string[]): Converter<T>;
  /** Whether matches may span `/` (only `path` does). */
  readonly spansSegments?: boolean;
}

/** A converter as routes use it: its pattern is a regex source. */
export interface SourceConverter<T = unknown> extends Converter<T> {
  readonly pattern: string;
}

/** Literal text of a pattern, decoded and encoded. */
export interface LiteralToken {
  readonly kind: "literal";
  /** The text as written in the pattern. */
  readonly text: string;
}

/** A placeholder of a pattern. */
export interface ParamToken {
  readonly kind: "param";
  /** Its name, or its position among the anonymous placeholders. */
  readonly key: string | number;
  /** Its converter, arguments applied. */
  readonly converter: SourceConverter;
  /** The placeholder as written, for messages. */
  readonly source: string;
  /** `^(?:regex)$`: what a built value must match. */
  readonly check: RegExp;
}

/** One parsed piece of a pattern. */
export type Token = LiteralToken | ParamToken;

/** A piece of a segment: encoded literal text, or a placeholder. */
export type Piece = string | ParamToken;

/** How the matcher consumes the path: see the module comment. */
export type Step =
  | { readonly kind: "static"; readonly text: string }
  | {
    readonly kind: "whole";
    /** `null` when the converter takes any non-empty segment. */
    readonly test: RegExp | null;
    readonly key: string;
    /** Whether the regex can never match a "/" (see `cannotMatchSlash`). */
    readonly safe: boolean;
  }
  | {
    readonly kind: "mixed";
    readonly regex: RegExp;
    readonly count: number;
    readonly key: string;
    readonly safe: boolean;
  }
  | {
    readonly kind: "tail";
    /** Sticky, anchored at the end; starts at a "/". */
    readonly regex: RegExp;
    readonly count: number;
    /** Per capture: whether it must stay within one segment. */
    readonly single: readonly boolean[];
    readonly key: string;
    /** Whether no capture that must stay in one segment can match a "/". */
    readonly safe: boolean;
  };

/** A pattern parsed once, from which matching and building are derived. */
export interface ParsedPattern {
  /** The pattern as written. */
  readonly source: string;
  readonly tokens: readonly Token[];
  /** The placeholders, in order. */
  readonly params: readonly ParamToken[];
  /** The segments after the leading "/", each as its pieces. */
  readonly segments: readonly (readonly Piece[])[];
  /** The first segment with a placeholder that spans segments, or -1. */
  readonly tail: number;
  /** Each segment before `tail`: its text when it is literal text only. */
  readonly fixed: readonly (string | undefined)[];
  readonly steps: readonly Step[];
  /** The encoded path when the pattern has no placeholder. */
  readonly staticPath: string | undefined;
  /** The pattern with names dropped: equal shapes match the same paths. */
  readonly shape: string;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

/** The parse of converters whose value is the text (the matcher skips it). */
export const identity = (text: string): string => text;

/**
 * The value of a signed decimal integer (`[+-]?\d+`); throws a RangeError
 * for other text and for integers past `Number.MAX_SAFE_INTEGER`.
 */
export function parseInteger(text: string): number {
  const length = text.length;
  let i = 0;
  let c = text.charCodeAt(0);
  const negative = c === 45;
  if (c === 43 || c === 45) i++;
  if (i >= length) throw new RangeError("not a safe integer");
  let n = 0;
  for (; i < length; i++) {
    c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw new RangeError("not a safe integer");
    n = n * 10 + c;
  }
  // Past 2^53, n may be rounded: safe integers are exact here.
  if (n > Number.MAX_SAFE_INTEGER) throw new RangeError("not a safe integer");
  return negative && n !== 0 ? -n : n;
}

/** Whether `text` from `from` to `to` is a signed integer, like `[+-]?\d+`. */
export function isInt(text: string, from: number, to: number): boolean {
  let c = text.charCodeAt(from);
  if (c === 43 || c === 45) from++;
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
/** The pattern of a converter usable only with arguments (`any`). */
export const NEVER = "(?!)";
/** What `unicode` matches; a step with it needs no regex. */
export const ANY_SEGMENT = "[^/]+";

/**
 * Parses `pattern`; throws a SyntaxError (malformed pattern) or a TypeError
 * (unknown converter, bad regex) naming the pattern and the problem.
 */
export function parsePattern(
  pattern: string,
  converters: Readonly<Record<string, Converter>>,
): ParsedPattern {
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot parse route "${pattern}": ${why}`);
  };
  const failType = (why: string): never => {
    throw new TypeError(`Cannot compile route "${pattern}": ${why}`);
  };
  if (typeof pattern !== "string" || !pattern.startsWith("/")) {
    fail('a pattern must start with "/"');
  }
  if (!pattern.isWellFormed()) fail("a pattern must be well-formed text");
  const tokens: Token[] = [];
  const specs: string[] = [];
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
        i >= pattern.length
          ? `missing ">" after position ${start}`
          : `placeholder at position ${start} needs ":converter", as in <${
            name || "id"
          }:int>`,
      );
    }
    i++;
    IDENT.lastIndex = i;
    const converterName = IDENT.exec(pattern)?.[0] ?? "";
    if (!converterName) {
      fail(`placeholder at position ${start} has no converter name`);
    }
    i += converterName.length;
    let args: string[] | undefined;
    if (pattern[i] === "(") {
      const parsed = parseArgs(pattern, i + 1, fail);
      args = parsed.args;
      i = parsed.end;
    }
    if (i >= pattern.length) fail(`missing ">" after position ${start}`);
    if (pattern[i] !== ">") fail(`unexpected "${pattern[i]}" at position ${i}`);
    i++;
    if (name === "__proto__") fail('the name "__proto__" is reserved');
    if (name && names.has(name)) {
      fail(`placeholder name "${name}" is used twice`);
    }
    if (name) names.add(name);
    const base = Object.hasOwn(converters, converterName)
      ? converters[converterName]
      : undefined;
    if (!base) {
      failType(
        `converter "${converterName}" is not registered${
          flaskHint(name, converterName, args, converters)
        }`,
      );
    }
    if (args === undefined && base!.withArgs && base!.pattern === NEVER) {
      failType(`converter "${converterName}" needs arguments`);
    }
    const failConverter = (why: string): never =>
      failType(`converter "${converterName}": ${why}`);
    const converter = sourceConverter(
      applyArgs(base!, args, failConverter),
      failConverter,
    );
    checkRegex(converter.pattern, failConverter);
    if (literal) tokens.push({ kind: "literal", text: literal });
    literal = "";
    const source = pattern.slice(start, i);
    tokens.push({
      kind: "param",
      key: name || anonymous++,
      converter,
      source,
      check: new RegExp(`^(?:${converter.pattern})$`),
    });
    specs.push(
      args ? `${converterName}(${JSON.stringify(args)})` : converterName,
    );
  }
  if (literal) tokens.push({ kind: "literal", text: literal });
  const params = tokens.filter((t): t is ParamToken => t.kind === "param");
  let shape = "";
  let n = 0;
  for (const token of tokens) {
    shape += token.kind === "literal"
      ? encodeLiteral(token.text)
      : `<:${specs[n++]}>`;
  }
  const segments = splitSegments(tokens, fail);
  const tail = segments.findIndex((pieces) =>
    pieces.some((p) => typeof p !== "string" && p.converter.spansSegments)
  );
  return {
    source: pattern,
    tokens,
    params,
    segments,
    tail,
    fixed: (tail === -1 ? segments : segments.slice(0, tail)).map((pieces) =>
      pieces.every((p) => typeof p === "string") ? pieces.join("") : undefined
    ),
    steps: makeSteps(segments, tail),
    staticPath: params.length === 0 ? encodeLiteral(pattern) : undefined,
    shape,
  };
}

/**
 * The hint for a Flask-style placeholder (`<int:id>`): the name is a
 * converter and the converter an identifier that is not one.
 */
function flaskHint(
  name: string,
  converterName: string,
  args: string[] | undefined,
  converters: Readonly<Record<string, Converter>>,
): string {
  return name !== "" && args === undefined && Object.hasOwn(converters, name)
    ? `; did you mean "<${converterName}:${name}>"?`
    : "";
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
    const raw = pattern[i] === "r" || pattern[i] === "R";
    if (raw) i++;
    const quote = pattern[i];
    if (quote !== "'" && quote !== '"') {
      fail(`converter arguments must be quoted strings (position ${i})`);
    }
    i++;
    let value = "";
    while (i < pattern.length && pattern[i] !== quote) {
      const next = pattern[i + 1];
      if (pattern[i] === "\\" && (next === quote || next === "\\")) {
        value += raw ? pattern[i] + next : next;
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

function applyArgs(
  base: Converter,
  args: string[] | undefined,
  fail: (why: string) => never,
): Converter {
  if (args === undefined) return base;
  if (base.withArgs) {
    let made: Converter;
    try {
      made = base.withArgs(...args);
    } catch (error) {
      return fail(error instanceof Error ? error.message : String(error));
    }
    if (typeof made !== "object" || made === null) {
      fail("its withArgs() did not return a converter");
    }
    return made;
  }
  if (args.length !== 1) fail("takes one argument, a regex");
  return withPattern(base, args[0]);
}

/** `converter` with another pattern; the rest is inherited from it. */
function withPattern(converter: Converter, pattern: string): SourceConverter {
  return Object.create(converter, {
    pattern: { value: pattern, enumerable: true },
  });
}

/**
 * `converter` with its pattern as a regex source: itself when the pattern
 * is a string, else a converter inheriting from it whose pattern is the
 * RegExp's `source`. A RegExp with flags is refused (routes match the
 * source alone), and so is a pattern that is neither.
 */
export function sourceConverter(
  converter: Converter,
  fail: (why: string) => never,
): SourceConverter {
  const pattern: unknown = converter.pattern;
  if (typeof pattern === "string") return converter as SourceConverter;
  if (!(pattern instanceof RegExp)) {
    return fail("its pattern is not a string or a RegExp");
  }
  if (pattern.flags !== "") {
    fail(
      `its pattern ${pattern} has the flags "${pattern.flags}", but routes match the source of a RegExp alone: pass it without flags${
        pattern.flags.includes("i")
          ? ", and write both cases where case does not matter, as in [A-Za-z]"
          : ""
      }`,
    );
  }
  return withPattern(converter, pattern.source);
}

/** Checks that a converter's regex compiles and has no capturing groups. */
export function checkRegex(
  source: unknown,
  fail: (why: string) => never,
): void {
  if (typeof source !== "string") return fail("its pattern is not a string");
  if (source === "") fail("empty regex");
  let groups: number;
  try {
    groups = new RegExp(`(?:${source})|`).exec("")!.length - 1;
  } catch (error) {
    return fail(`invalid regex /${source}/: ${(error as Error).message}`);
  }
  if (groups > 0) {
    fail(`regex /${source}/ has capturing groups: use (?:...) instead`);
  }
}

/**
 * Splits the tokens into segments: each its pieces, literal text already
 * percent-encoded.
 */
function splitSegments(
  tokens: readonly Token[],
  fail: (why: string) => never,
): Piece[][] {
  const segments: Piece[][] = [];
  for (const token of tokens) {
    if (token.kind === "param") {
      segments[segments.length - 1].push(token);
      continue;
    }
    const parts = token.text.split("/");
    // The pattern starts with "/", so the first literal's first part is "".
    if (segments.length > 0 && parts[0]) {
      segments[segments.length - 1].push(encodeSegment(parts[0]));
    }
    for (const part of parts.slice(1)) {
      segments.push(part ? [encodeSegment(part)] : []);
    }
  }
  segments.forEach((pieces, index) => {
    if (pieces.length === 0 && index < segments.length - 1) {
      fail('an empty segment ("//") never matches a normalised path');
    }
    if (pieces.length === 1 && (pieces[0] === "." || pieces[0] === "..")) {
      fail(`a "${pieces[0]}" segment never matches a normalised path`);
    }
  });
  return segments;
}

/** Makes one step per segment (see the module comment). */
function makeSteps(
  segments: readonly (readonly Piece[])[],
  tailAt: number,
): Step[] {
  const steps: Step[] = [];
  const single = tailAt === -1 ? segments : segments.slice(0, tailAt);
  for (const pieces of single) {
    if (pieces.length === 0) {
      steps.push({ kind: "static", text: "" });
    } else if (pieces.length === 1 && typeof pieces[0] === "string") {
      steps.push({ kind: "static", text: pieces[0] });
    } else if (pieces.length === 1) {
      const pattern = (pieces[0] as ParamToken).converter.pattern;
      steps.push({
        kind: "whole",
        test: pattern === ANY_SEGMENT ? null : new RegExp(`^(?:${pattern})$`),
        key: pattern,
        safe: cannotMatchSlash(pattern),
      });
    } else {
      const source = `^${regexOf(pieces)}$`;
      steps.push({
        kind: "mixed",
        regex: new RegExp(source),
        count: pieces.filter((p) => typeof p !== "string").length,
        key: source,
        safe: pieces.every((p) =>
          typeof p === "string" || cannotMatchSlash(p.converter.pattern)
        ),
      });
    }
  }
  if (tailAt !== -1) {
    const rest = segments.slice(tailAt);
    const source = rest.map((pieces) => "\\/" + regexOf(pieces)).join("") +
      "$";
    const params = rest.flat().filter((p): p is ParamToken =>
      typeof p !== "string"
    );
    steps.push({
      kind: "tail",
      regex: new RegExp(source, "y"),
      count: params.length,
      single: params.map((p) => !p.converter.spansSegments),
      key: source,
      safe: params.every((p) =>
        p.converter.spansSegments || cannotMatchSlash(p.converter.pattern)
      ),
    });
  }
  return steps;
}

function regexOf(pieces: readonly Piece[]): string {
  return pieces.map((p) =>
    typeof p === "string" ? escapeRegex(p) : `(${p.converter.pattern})`
  ).join("");
}

/**
 * Whether a regex source can never match text holding a "/", judged from
 * its syntax and on the safe side: no `.`, no `/`, no `\D`, `\W` or `\S`, no
 * numeric escapes, and classes that leave "/" out (a negated class must
 * name it). Such a regex can be matched across a whole path without
 * leaving its segment.
 */
export function cannotMatchSlash(source: string): boolean {
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "." || c === "/") return false;
    if (c === "\\") {
      if (!safeEscape(source[++i])) return false;
      continue;
    }
    if (c !== "[") continue;
    // A class: its members, up to the unescaped "]".
    const negated = source[i + 1] === "^";
    i += negated ? 2 : 1;
    let slash = false;
    let previous = -1;
    // (In JavaScript, a "]" right after "[" or "[^" closes the class.)
    for (; i < source.length && source[i] !== "]"; i++) {
      let code: number;
      if (source[i] === "\\") {
        const e = source[++i];
        if (e === "d" || e === "w" || e === "s") {
          previous = -1;
          continue;
        }
        if (/[A-Za-z0-9]/.test(e ?? "0")) return false;
        code = e.charCodeAt(0);
      } else if (
        source[i] === "-" && previous !== -1 && source[i + 1] !== "]"
      ) {
        // A range from the previous member.
        let to = source[++i];
        if (to === "\\") {
          to = source[++i];
          if (/[A-Za-z0-9]/.test(to ?? "0")) return false;
        }
        if (previous <= 47 && to.charCodeAt(0) >= 47) slash = true;
        previous = -1;
        continue;
      } else code = source.charCodeAt(i);
      if (code === 47) slash = true;
      previous = code;
    }
    if (negated !== slash) return false;
  }
  return true;
}

/** Escapes outside classes that never match "/". */
function safeEscape(c: string | undefined): boolean {
  if (c === undefined) return false;
  if (c === "d" || c === "w" || c === "s" || c === "b" || c === "B") {
    return true;
  }
  return !/[A-Za-z0-9/]/.test(c);
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/** Escapes text for use inside a regex. */
export function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, "\\$&");
}

/** The encoded form of a pattern's literal text, as it appears in paths. */
export function encodeLiteral(text: string): string {
  return text.split("/").map(encodeSegment).join("/");
}
