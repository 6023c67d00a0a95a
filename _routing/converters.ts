// The built-in converters, and the check of custom ones.
import { encodeSegment } from "../_http/path.ts";
import {
  checkRegex,
  type Converter,
  escapeRegex,
  identity,
  NEVER,
  parseInteger,
} from "./pattern.ts";

const FLOAT_RE = /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const UUID_RE =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function formatError(what: string, value: unknown): never {
  throw new TypeError(
    `${what}, got ${typeof value === "string" ? `"${value}"` : String(value)}`,
  );
}

const unicodeConverter: Converter<string> = {
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
  readonly int: Converter<number>;
  readonly float: Converter<number>;
  readonly unicode: Converter<string>;
  readonly path: Converter<string>;
  readonly any: Converter<string>;
  readonly uuid: Converter<string>;
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
      return {
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

/** Throws when `converter` (registered as `name`) is malformed. */
export function checkConverter(name: string, converter: unknown): void {
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
  checkRegex(c.pattern, fail);
}
