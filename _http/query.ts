// Query strings and paths as text: the urlencoded parser and builder, and
// path encoding. Query strings and urlencoded bodies follow the WHATWG
// urlencoded parser.
import { MultiDict } from "../multidict.ts";
import { decoderFor, latin1 } from "./charset.ts";
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
 * Parses a query string or an urlencoded body. Pairs split on `&` only (a
 * `;` is part of the value, as in WHATWG URLs); `+` is a space; a pair
 * without `=` has the value `""`; empty pairs are skipped; a bad escape or
 * invalid text in the charset becomes U+FFFD. It never throws on the input.
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
 * const q = parseQuery("a=1&b=x%20y+z&a=%E2%82%AC&bad=%zz&c");
 * assert.deepEqual(q.getAll("a"), ["1", "\u20ac"]);
 * assert.equal(q.get("b"), "x y z");
 * assert.equal(q.get("bad"), "\uFFFDzz");
 * assert.equal(q.get("c"), "");
 * ```
 */
export function parseQuery(
  input: string | Uint8Array,
  charset = "UTF-8",
): MultiDict<string> {
  const decoder = decoderFor(charset);
  // UTF-8 bytes are decoded natively first; other charsets go through a
  // latin1 string (one char per byte) so that literal and escaped bytes
  // decode alike.
  const utf8 = decoder.encoding === "utf-8";
  const fromBytes = typeof input !== "string" && !utf8;
  const text = typeof input === "string"
    ? input
    : utf8
    ? decoder.decode(input)
    : latin1(input);
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

const PLUS = /\+/g;

function decodeComponent(
  text: string,
  decoder: TextDecoder,
  fromBytes: boolean,
): string {
  if (text.includes("+")) text = text.replace(PLUS, " ");
  const ascii = !fromBytes || !/[^\u0020-\u007e]/.test(text);
  if (!text.includes("%") && ascii) return text;
  if (decoder.encoding === "utf-8" && !fromBytes) {
    try {
      return decodeURIComponent(text);
    } catch { /* fall through to the lenient decoder */ }
  }
  const bytes: number[] = [];
  let out = "";
  const flush = () => {
    if (bytes.length) out += decoder.decode(new Uint8Array(bytes));
    bytes.length = 0;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      const hex = text.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        flush();
        out += "\uFFFD";
      }
    } else if (fromBytes || c < 0x80) {
      bytes.push(c & 0xff);
    } else {
      flush();
      out += text[i];
    }
  }
  flush();
  return out;
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
