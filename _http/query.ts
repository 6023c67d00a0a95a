// Query strings and paths as text: the urlencoded parser and builder, and
// path encoding. Query strings and urlencoded bodies follow the WHATWG
// urlencoded parser.
import { MultiDict } from "../multidict.ts";
import { formDecoderFor, latin1 } from "./charset.ts";
import { encodePathText } from "./path.ts";

/** Data for a query string. Arrays repeat a key; `null`/`undefined` skip it. */
export type QueryInit =
  | string
  | MultiDict<string>
  | Iterable<readonly [string, string]>
  | Record<
    string,
    | string
    | number
    | boolean
    | readonly (string | number | boolean)[]
    | null
    | undefined
  >;

/**
 * Parses a query string or an urlencoded body as the WHATWG
 * `application/x-www-form-urlencoded` parser does (and so `URLSearchParams`
 * and browsers): pairs split on `&` only (a `;` is part of the value); `+`
 * is a space; a pair without `=` has the value `""`; empty pairs are
 * skipped; a `%` not followed by two hex digits stays as it is; escaped and
 * literal bytes that are not valid in the charset become U+FFFD; a
 * byte-order mark is kept (at the start of a body it is part of the first
 * name). It never throws on the input.
 *
 * @param input The text (without `?`) or the body bytes.
 * @param charset The charset of escaped bytes (and of `input` when bytes).
 * @returns The values, in order.
 * @throws {RequestParseError} When `charset` is unknown.
 *
 * @example
 * ```ts
 * import { parseQuery } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const q = parseQuery("a=1&b=x%20y+z&a=%E2%82%AC&p=100%&bad=%zz&ff=%ff&c");
 * assert.deepEqual(q.getAll("a"), ["1", "\u20ac"]);
 * assert.equal(q.get("b"), "x y z");
 * assert.equal(q.get("p"), "100%");
 * assert.equal(q.get("bad"), "%zz");
 * assert.equal(q.get("ff"), "\uFFFD");
 * assert.equal(q.get("c"), "");
 * ```
 */
export function parseQuery(
  input: string | Uint8Array,
  charset = "UTF-8",
): MultiDict<string> {
  const decoder = formDecoderFor(charset);
  const decoded = typeof input === "string"
    ? (input.isWellFormed() ? input : input.toWellFormed())
    : utf8Body(input, decoder);
  const fromBytes = decoded === undefined;
  const text = decoded ?? latin1(input as Uint8Array);
  const out = new MultiDict<string>();
  if (text === "") return out;
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = eq === -1 ? pair : pair.slice(0, eq);
    const value = eq === -1 ? "" : pair.slice(eq + 1);
    out.append(
      decodeComponent(key, decoder, fromBytes),
      decodeComponent(value, decoder, fromBytes),
    );
  }
  return out;
}

/**
 * A body's text when the charset is UTF-8 and the bytes valid UTF-8:
 * decoded at once natively, a byte-order mark kept (escapes are then
 * decoded per name and value, which gives what decoding the bytes would).
 * `undefined` otherwise: the body then goes through a latin1 string (one
 * char per byte), so that the literal and the escaped bytes of a name or
 * value are decoded together, as the WHATWG parser does. (A U+FFFD, from
 * invalid bytes or sent as such, takes that slower path too: a fatal
 * decoder would cost three times as much on every body.)
 */
function utf8Body(
  bytes: Uint8Array,
  decoder: TextDecoder,
): string | undefined {
  if (decoder.encoding !== "utf-8") return undefined;
  const text = decoder.decode(bytes);
  return text.includes("\uFFFD") ? undefined : text;
}

const PLUS = /\+/g;
const NOT_PRINTABLE_ASCII = /[^\u0020-\u007e]/;

function decodeComponent(
  text: string,
  decoder: TextDecoder,
  fromBytes: boolean,
): string {
  if (text.includes("+")) text = text.replace(PLUS, " ");
  const ascii = !fromBytes || !NOT_PRINTABLE_ASCII.test(text);
  if (!text.includes("%") && ascii) return text;
  if (decoder.encoding === "utf-8" && !fromBytes) {
    try {
      return decodeURIComponent(text);
    } catch { /* a bad escape or invalid UTF-8: decode leniently */ }
  }
  return decodeBytes(text, decoder, fromBytes);
}

/**
 * Percent-decodes `text` into bytes (a `%` without two hex digits is the
 * byte `%`) and decodes them with `decoder`. Literal chars are bytes too
 * (their low byte) when `fromBytes`; otherwise one past ASCII is kept as it
 * is.
 */
export function decodeBytes(
  text: string,
  decoder: TextDecoder,
  fromBytes: boolean,
): string {
  const bytes: number[] = [];
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const hi = c === 0x25 ? hexDigit(text.charCodeAt(i + 1)) : -1;
    const lo = hi === -1 ? -1 : hexDigit(text.charCodeAt(i + 2));
    if (lo !== -1) {
      bytes.push(hi * 16 + lo);
      i += 2;
    } else if (fromBytes || c < 0x80) {
      bytes.push(c);
    } else {
      out += decodeRun(bytes, decoder) + text[i];
    }
  }
  return out + decodeRun(bytes, decoder);
}

/** Decodes and empties `bytes`. */
function decodeRun(bytes: number[], decoder: TextDecoder): string {
  if (bytes.length === 0) return "";
  const text = decoder.decode(new Uint8Array(bytes));
  bytes.length = 0;
  return text;
}

/** The value of a hex digit's char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Builds a query string (without `?`) from data: pairs joined by `&` in the
 * order given, keys and values encoded as `application/x-www-form-urlencoded`
 * (space as `+`). A string is returned as it is.
 *
 * @param data A record (arrays repeat a key, `null`/`undefined` skip it), a
 *   `MultiDict`, pairs, or a string.
 * @returns The query string.
 *
 * @example
 * ```ts
 * import { makeQuery } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(makeQuery({ q: "a&b c", tag: ["x", "y"], skip: null }), "q=a%26b+c&tag=x&tag=y");
 * assert.equal(makeQuery([["a", "1"], ["a", "2"]]), "a=1&a=2");
 * ```
 */
export function makeQuery(data: QueryInit): string {
  if (typeof data === "string") return data;
  const params = new URLSearchParams();
  const pairs = data instanceof MultiDict || Symbol.iterator in data
    ? data as Iterable<readonly [string, string]>
    : Object.entries(data).flatMap(([key, value]) =>
      value === null || value === undefined
        ? []
        : Array.isArray(value)
        ? value.map((v) => [key, String(v)] as const)
        : [[key, String(value)] as const]
    );
  for (const [key, value] of pairs) params.append(key, value);
  return params.toString();
}

/**
 * Percent-encodes a decoded path for a URL: `/` is kept, everything outside
 * the RFC 3986 path characters is encoded, `%` included.
 *
 * @param path A decoded path.
 * @returns The encoded path.
 * @throws {TypeError} When the path holds a lone surrogate.
 *
 * @example
 * ```ts
 * import { encodePath } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodePath("/caff\u00e8 latte/100%"), "/caff%C3%A8%20latte/100%25");
 * ```
 */
export function encodePath(path: string): string {
  if (!path.isWellFormed()) {
    throw new TypeError(
      "Cannot encode the path: it holds a lone surrogate, which no URL can carry",
    );
  }
  return encodePathText(path);
}
