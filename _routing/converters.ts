// The built-in converters, the check of custom ones, and the proof that an
// earlier route matches every path a later one matches, which rests on
// what the built-in converters accept.
import { encodeSegment } from "../_http/path.ts";
import {
  ANY_SEGMENT,
  checkRegex,
  type Converter,
  encodeLiteral,
  escapeRegex,
  identity,
  NEVER,
  type ParamToken,
  type ParsedPattern,
  parseInteger,
  type Piece,
  type SourceConverter,
  sourceConverter,
  type Step,
} from "./pattern.ts";
import { decodeValue, runSteps } from "./router.ts";

const FLOAT_RE = /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const UUID_RE =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The alternatives of each converter made by the built-in `any(...)`. */
const alternativesOf = new WeakMap<Converter, readonly string[]>();

function formatError(what: string, value: unknown): never {
  throw new TypeError(
    `${what}, got ${typeof value === "string" ? `"${value}"` : String(value)}`,
  );
}

const unicodeConverter: SourceConverter<string> = {
  pattern: "[^/]+",
  parse: identity,
  format: (value) =>
    typeof value === "string" ? value : formatError("expected a string", value),
};

/**
 * The converters every `DispatcherApp` knows: `int` (signed integer),
 * `float`, `unicode` (one segment of text), `path` (text spanning
 * segments), `any('a', 'b', ...)` (one of the alternatives) and `uuid`.
 *
 * @example
 * ```ts
 * import { BUILTIN_CONVERTERS } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(BUILTIN_CONVERTERS.int.parse("-42"), -42);
 * assert.equal(BUILTIN_CONVERTERS.uuid.format("0B8F6C48-8D3A-4B1E-9E5A-2C1D3E4F5A6B"),
 *   "0b8f6c48-8d3a-4b1e-9e5a-2c1d3e4f5a6b");
 * ```
 */
export const BUILTIN_CONVERTERS: {
  readonly int: Converter<number> & { readonly pattern: string };
  readonly float: Converter<number> & { readonly pattern: string };
  readonly unicode: Converter<string> & { readonly pattern: string };
  readonly path: Converter<string> & { readonly pattern: string };
  readonly any: Converter<string> & { readonly pattern: string };
  readonly uuid: Converter<string> & { readonly pattern: string };
} = Object.freeze({
  int: {
    pattern: "[+-]?\\d+",
    parse: parseInteger,
    format: (value: number) =>
      Number.isSafeInteger(value)
        ? String(value)
        : formatError("expected a safe integer", value),
  },
  float: {
    pattern: "[+-]?(?:\\d+(?:\\.\\d+)?|\\.\\d+)(?:[eE][+-]?\\d+)?",
    parse(text: string): number {
      const n = Number(text);
      if (!FLOAT_RE.test(text) || !Number.isFinite(n)) {
        throw new RangeError("not a finite number");
      }
      return n === 0 ? 0 : n;
    },
    format: (value: number) =>
      typeof value === "number" && Number.isFinite(value)
        ? String(value === 0 ? 0 : value)
        : formatError("expected a finite number", value),
  },
  unicode: unicodeConverter,
  path: {
    pattern: ".+",
    spansSegments: true,
    parse: identity,
    format(value: string): string {
      if (typeof value !== "string") formatError("expected a string", value);
      const segments = value.split("/");
      if (segments.length > 1 && segments.at(-1) === "") segments.pop();
      if (segments.some((s) => s === "" || s === "." || s === "..")) {
        formatError(
          "expected a path without empty, '.' or '..' segments",
          value,
        );
      }
      return value;
    },
  },
  any: {
    pattern: NEVER,
    parse: (text: string) => text,
    format: unicodeConverter.format,
    withArgs(...alternatives: string[]): Converter<string> {
      if (alternatives.length === 0) {
        throw new TypeError("any() needs at least one alternative");
      }
      if (alternatives.includes("")) {
        throw new TypeError("any() cannot take an empty alternative");
      }
      const allowed = new Set(alternatives);
      const converter: Converter<string> = {
        pattern: alternatives.map((a) => escapeRegex(encodeSegment(a))).join(
          "|",
        ),
        parse: (text) => {
          if (!allowed.has(text)) throw new RangeError("not an alternative");
          return text;
        },
        format: (value) =>
          allowed.has(value)
            ? value
            : formatError(`expected one of ${alternatives.join(", ")}`, value),
      };
      alternativesOf.set(converter, [...alternatives]);
      return converter;
    },
  },
  uuid: {
    pattern:
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    parse: (text: string) => text.toLowerCase(),
    format: (value: string) =>
      typeof value === "string" && UUID_RE.test(value)
        ? value.toLowerCase()
        : formatError("expected a UUID", value),
  },
});

/**
 * Throws when `converter` (registered as `name`) is malformed; returns it
 * as routes use it, its pattern a regex source (see `sourceConverter`).
 */
export function checkConverter(
  name: string,
  converter: unknown,
): SourceConverter {
  const fail = (why: string): never => {
    throw new TypeError(`Cannot use converter "${name}": ${why}`);
  };
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    fail("its name is not an identifier");
  }
  if (typeof converter !== "object" || converter === null) {
    fail("it is not an object");
  }
  const c = converter as Partial<Converter>;
  if (typeof c.parse !== "function" || typeof c.format !== "function") {
    fail("it needs parse() and format() functions");
  }
  if (c.withArgs !== undefined && typeof c.withArgs !== "function") {
    fail("its withArgs is not a function");
  }
  const source = sourceConverter(c as Converter, fail);
  checkRegex(source.pattern, fail);
  return source;
}

// ---------------------------------------------------------------------------
// Unreachable routes
//
// `shadows(earlier, later)` is true when every path `later` matches (its
// converters accepting the values) is matched by `earlier` too, so that
// `later` is never reached for the methods they share. It says so only
// when it can prove it, from what the built-in converters accept; what
// rests on a custom converter is left unproved, except that a placeholder
// taking every segment (`unicode`) or every rest of the path (`path`)
// takes whatever a later converter accepts there, and that one converter
// accepts what it accepts. Two ways:
//   - a later route whose placeholders are all `any(...)` matches a few
//     paths: each is matched against the earlier route as a request is;
//   - otherwise segment by segment, where each segment of the later route
//     (its `any(...)` alternatives spelt out) must be taken by the earlier
//     route's segment at the same place: its literal text, one placeholder
//     between literal text (`<p:unicode>.html`), or segments of the same
//     pieces; from the earlier route's `path` placeholder, the rest of the
//     path must be taken by it and the literal text around it.
// Registration compares a new route with every earlier one, so a quick test
// (`mayShadow`: counts of segments, literal segments) comes first.

/** What the proof knows of a converter's values. */
type Kind =
  /** Built-in `unicode`: any non-empty text within a segment. */
  | "unicode"
  /** Built-in `path`: any non-empty text. */
  | "path"
  | "int"
  | "float"
  | "uuid"
  /** Built-in `any(...)`: its alternatives. */
  | "any"
  /** A built-in parse with another regex: tested on literal text only. */
  | "regex"
  /** A custom parse: unknown. */
  | "custom";

/** The most paths or segment variants spelt out from `any(...)`. */
const SPELT_OUT = 64;

function kindOf(c: SourceConverter): Kind {
  if (alternativesOf.has(c)) return "any";
  const builtin = BUILTIN_CONVERTERS;
  if (c.parse === identity) {
    if (c.spansSegments === true) {
      return c.pattern === builtin.path.pattern ? "path" : "regex";
    }
    return c.pattern === ANY_SEGMENT ? "unicode" : "regex";
  }
  if (c.spansSegments === true) return "custom";
  for (const name of ["int", "float", "uuid"] as const) {
    if (c.parse === builtin[name].parse) {
      return c.pattern === builtin[name].pattern ? name : "regex";
    }
  }
  return "custom";
}

function isParam(piece: Piece): piece is ParamToken {
  return typeof piece !== "string";
}

/** Appends `piece` to `pieces`, joining literal text. */
function push(pieces: Piece[], piece: Piece): void {
  const last = pieces.length - 1;
  if (typeof piece === "string" && typeof pieces[last] === "string") {
    pieces[last] += piece;
  } else pieces.push(piece);
}

/**
 * Whether `earlier` matches every path `later` matches (see above);
 * `false` when that cannot be proved.
 */
export function shadows(earlier: ParsedPattern, later: ParsedPattern): boolean {
  if (!mayShadow(earlier, later)) return false;
  const paths = pathsOf(later);
  if (paths !== undefined) {
    if (paths.length === 0) return false;
    let unknown = false;
    for (const path of paths) {
      const found = matchesPath(earlier, path);
      if (found === false) return false;
      if (found === undefined) unknown = true;
    }
    if (!unknown) return true;
  }
  return coversSegments(earlier, later);
}

/**
 * Whether `earlier` may match every path of `later`, as far as their
 * counts of segments and their literal segments tell: a quick test that
 * tells most pairs of routes apart, for `shadows` to run on the others.
 */
export function mayShadow(
  earlier: ParsedPattern,
  later: ParsedPattern,
): boolean {
  if (
    earlier.tail === -1 &&
    (later.tail !== -1 || earlier.segments.length !== later.segments.length)
  ) return false;
  const a = earlier.fixed;
  const b = later.fixed;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x !== undefined && y !== undefined && x !== y) return false;
  }
  return true;
}

/** The paths of each pattern whose placeholders are all `any(...)`. */
const spelt = new WeakMap<ParsedPattern, readonly string[] | null>();

/**
 * The paths a pattern whose placeholders are all `any(...)` matches (see
 * `spellOut`), else `undefined`; made once per pattern.
 */
function pathsOf(parsed: ParsedPattern): readonly string[] | undefined {
  let paths = spelt.get(parsed);
  if (paths === undefined) {
    paths = spellOut(parsed)?.filter((path) =>
      matchesPath(parsed, path) === true
    ) ?? null;
    spelt.set(parsed, paths);
  }
  return paths ?? undefined;
}

/**
 * The encoded paths of a pattern whose placeholders are all `any(...)`;
 * `undefined` for other patterns and when there are too many.
 */
function spellOut(parsed: ParsedPattern): string[] | undefined {
  let paths = [""];
  for (const token of parsed.tokens) {
    if (token.kind === "literal") {
      const text = encodeLiteral(token.text);
      paths = paths.map((path) => path + text);
      continue;
    }
    const alternatives = alternativesOf.get(token.converter);
    if (!alternatives || paths.length * alternatives.length > SPELT_OUT) {
      return undefined;
    }
    paths = paths.flatMap((path) =>
      alternatives.map((a) => path + encodeSegment(a))
    );
  }
  return paths;
}

/**
 * Whether `parsed` matches the encoded `path` as it would a request's;
 * `undefined` when a custom converter would decide.
 */
function matchesPath(
  parsed: ParsedPattern,
  path: string,
): boolean | undefined {
  const texts: string[] = [];
  if (runSteps(parsed.steps, path, texts) === -1) return false;
  let known = true;
  for (let i = 0; i < parsed.params.length; i++) {
    const converter = parsed.params[i].converter;
    if (kindOf(converter) === "custom") known = false;
    else if (!parses(converter, texts[i])) return false;
  }
  return known || undefined;
}

/** Whether a converter that is not custom takes matched `text`. */
function parses(converter: SourceConverter, text: string): boolean {
  try {
    converter.parse(
      text.includes("%")
        ? decodeValue(text, converter.spansSegments === true)
        : text,
    );
    return true;
  } catch {
    return false;
  }
}

/** Whether `earlier` takes every path of `later`, segment by segment. */
function coversSegments(earlier: ParsedPattern, later: ParsedPattern): boolean {
  const a = earlier.segments;
  const b = later.segments;
  const tail = earlier.tail;
  const laterTail = later.tail;
  const single = tail === -1 ? a.length : tail;
  if (laterTail !== -1 && laterTail < single) return false;
  // (`mayShadow` has compared the counts of segments when `a` has no tail.)
  if (tail !== -1 && b.length <= tail) return false;
  for (let i = 0; i < single; i++) {
    if (!expand(b[i]).every((v) => segmentCovers(a[i], earlier.steps[i], v))) {
      return false;
    }
  }
  if (tail === -1) return true;
  const whole = new Set<Piece>();
  b.forEach((pieces, i) => {
    if (pieces.length === 1 && (laterTail === -1 || i < laterTail)) {
      whole.add(pieces[0]);
    }
  });
  return tailCovers(flatten(a.slice(tail)), flatten(b.slice(tail)), whole);
}

/**
 * The variants of a segment with its `any(...)` placeholders spelt out,
 * literal text joined; the segment itself when there would be too many.
 */
function expand(pieces: readonly Piece[]): Piece[][] {
  let variants: Piece[][] = [[]];
  for (const piece of pieces) {
    const alternatives = isParam(piece)
      ? alternativesOf.get(piece.converter)
      : undefined;
    if (!alternatives || variants.length * alternatives.length > SPELT_OUT) {
      for (const v of variants) push(v, piece);
      continue;
    }
    variants = variants.flatMap((v) =>
      alternatives.map((alternative) => {
        const copy = [...v];
        push(copy, encodeSegment(alternative));
        return copy;
      })
    );
  }
  return variants;
}

/** The segments from the "/" before the first, literal text joined. */
function flatten(segments: readonly (readonly Piece[])[]): Piece[] {
  const pieces: Piece[] = [];
  for (const segment of segments) {
    push(pieces, "/");
    for (const piece of segment) push(pieces, piece);
  }
  return pieces;
}

/**
 * Whether the segment `a` (matched by `step`) takes every text of the
 * segment variant `v` of a later route.
 */
function segmentCovers(
  a: readonly Piece[],
  step: Step,
  v: readonly Piece[],
): boolean {
  if (!v.some(isParam)) return takesText(a, step, v.join(""));
  const own = a.filter(isParam);
  if (own.length !== 1) return samePieces(a, v);
  // One placeholder between literal text: what it takes is fixed.
  const at = a.indexOf(own[0]);
  const middle = strip(
    v,
    at === 1 ? a[0] as string : "",
    at < a.length - 1 ? a[a.length - 1] as string : "",
  );
  if (middle === undefined) return false;
  if (middle.length === 1 && isParam(middle[0])) {
    return takes(own[0].converter, middle[0], v.length === 1);
  }
  return kindOf(own[0].converter) === "unicode" &&
    nonEmpty(middle, new Set());
}

/**
 * Whether the segment `a`, matched by `step` as a request's segment,
 * takes the encoded `text` (`false` when a custom converter decides).
 */
function takesText(a: readonly Piece[], step: Step, text: string): boolean {
  let texts: string[];
  if (step.kind === "static") return step.text === text;
  if (step.kind === "whole") {
    if (text === "" || (step.test !== null && !step.test.test(text))) {
      return false;
    }
    texts = [text];
  } else if (step.kind === "mixed") {
    const m = step.regex.exec(text);
    if (m === null) return false;
    texts = m.slice(1);
  } else return false;
  return a.filter(isParam).every((p, i) =>
    kindOf(p.converter) !== "custom" && parses(p.converter, texts[i])
  );
}

/**
 * Whether `earlier` takes every text `later` takes at the same place, in
 * the same literal text (`whole`: `later` is a segment alone).
 */
function takes(
  earlier: SourceConverter,
  later: ParamToken,
  whole: boolean,
): boolean {
  const c = later.converter;
  if (same(earlier, c)) return true;
  const kind = kindOf(earlier);
  if (kind === "unicode") return whole || !later.check.test("");
  if (kind === "custom") return false;
  const alternatives = alternativesOf.get(c);
  if (alternatives !== undefined) {
    // An `any(...)` with too many alternatives to spell out: each is tested.
    const check = new RegExp(`^(?:${earlier.pattern})$`);
    return alternatives.every((alternative) => {
      const text = encodeSegment(alternative);
      return check.test(text) && parses(earlier, text);
    });
  }
  const laterKind = kindOf(c);
  if (kind === "int") return laterKind === "int";
  if (kind === "float") return laterKind === "int" || laterKind === "float";
  return kind === "uuid" && laterKind === "uuid";
}

/** Whether two converters take the same texts to the same values. */
function same(a: SourceConverter, b: SourceConverter): boolean {
  if (a === b) return true;
  const kind = kindOf(a);
  return kind !== "custom" && kind === kindOf(b) && a.pattern === b.pattern &&
    (a.spansSegments === true) === (b.spansSegments === true) &&
    (kind === "any" || a.parse === b.parse);
}

/** Whether two runs of pieces are the same up to placeholder names. */
function samePieces(a: readonly Piece[], b: readonly Piece[]): boolean {
  return a.length === b.length && a.every((p, i) => {
    const q = b[i];
    return typeof p === "string"
      ? p === q
      : isParam(q) && same(p.converter, q.converter);
  });
}

/**
 * `pieces` without the literal text `before` at the start and `after` at
 * the end, or `undefined` when they are not there.
 */
function strip(
  pieces: readonly Piece[],
  before: string,
  after: string,
): Piece[] | undefined {
  const out = [...pieces];
  if (before !== "") {
    const first = out[0];
    if (typeof first !== "string" || !first.startsWith(before)) return;
    out[0] = first.slice(before.length);
  }
  if (after !== "") {
    const last = out[out.length - 1];
    if (typeof last !== "string" || !last.endsWith(after)) return;
    out[out.length - 1] = last.slice(0, last.length - after.length);
  }
  return out.filter((p) => p !== "");
}

/** Whether the pieces never match empty text (`whole`: a segment alone). */
function nonEmpty(
  pieces: readonly Piece[],
  whole: ReadonlySet<Piece>,
): boolean {
  return pieces.some((p) =>
    typeof p === "string" ? p !== "" : whole.has(p) || !p.check.test("")
  );
}

/**
 * Whether the tail of an earlier route (from the "/" before its segment
 * with `path`) takes every rest of the path that the pieces `b` of a
 * later route match: the same pieces, or one `path` placeholder between
 * literal text that `b` starts and ends with, with text left for it.
 */
function tailCovers(
  a: readonly Piece[],
  b: readonly Piece[],
  whole: ReadonlySet<Piece>,
): boolean {
  if (samePieces(a, b)) return true;
  const own = a.filter(isParam);
  if (own.length !== 1 || kindOf(own[0].converter) !== "path") return false;
  const before = typeof a[0] === "string" ? a[0] : "";
  const last = a[a.length - 1];
  const after = typeof last === "string" && a.length > 1 ? last : "";
  return expand(b).every((v) => {
    const middle = strip(v, before, after);
    return middle !== undefined && nonEmpty(middle, whole);
  });
}
