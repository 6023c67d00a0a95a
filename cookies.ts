/**
 * Cookies, lenient in and strict out: {@linkcode parseCookieHeader} never
 * throws on odd input, while {@linkcode Cookie} checks names, values and
 * attributes against RFC 6265 and throws on anything a browser would reject
 * or misread. {@linkcode signCookieValue} and {@linkcode verifyCookieValue}
 * protect values with an HMAC (Web Crypto), with key rotation.
 *
 * Differences from Python's Pesto (`pesto.cookie`): cookies are written in
 * today's RFC 6265 form (`name=value; Path=/; HttpOnly`, no `Version`), values
 * are percent-encoded on the way out and decoded on the way in, `Secure`
 * renders as a bare flag, expiry dates are real UTC, and `SameSite` and
 * `Partitioned` are supported. Parsing keeps every value of a name sent
 * twice, in order (a `MultiDict`), where many parsers keep only one, and
 * reads text past ASCII that browsers send as raw UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { Cookie, parseCookieHeader } from "@pesto/pesto/cookies";
 * import assert from "node:assert/strict";
 *
 * const cookie = new Cookie("theme", "dark mode", { path: "/", sameSite: "Lax" });
 * assert.equal(cookie.toString(), "theme=dark%20mode; Path=/; SameSite=Lax");
 *
 * const jar = parseCookieHeader("theme=dark%20mode; broken; lang=fr");
 * assert.equal(jar.get("theme"), "dark mode");
 * assert.equal(jar.get("lang"), "fr");
 * ```
 *
 * @module
 */
import { MultiDict } from "./multidict.ts";

/** The attributes of a cookie. */
export interface CookieOptions {
  /** Seconds until the cookie expires (`0` or less: expire now). */
  maxAge?: number;
  /** When the cookie expires. */
  expires?: Date;
  /** The path the cookie is sent for. */
  path?: string;
  /** The domain the cookie is sent to (and its subdomains). */
  domain?: string;
  /**
   * Send only over https.
   * @default {false}
   */
  secure?: boolean;
  /**
   * Hide from JavaScript.
   * @default {false}
   */
  httpOnly?: boolean;
  /** When to send on cross-site requests. */
  sameSite?: "Strict" | "Lax" | "None";
  /**
   * Keep the cookie per top-level site (CHIPS); needs `secure`.
   * @default {false}
   */
  partitioned?: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DOMAIN =
  /^\.?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const PATH = /^[\u0020-\u003a\u003c-\u007e]*$/;

/**
 * A cookie to set, with its attributes. `toString()` gives the value of a
 * `Set-Cookie` header.
 *
 * @example
 * ```ts
 * import { Cookie } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const c = new Cookie("__Host-sid", "abc", { secure: true, path: "/", httpOnly: true });
 * assert.equal(c.toString(), "__Host-sid=abc; Path=/; Secure; HttpOnly");
 * assert.throws(() => new Cookie("__Host-sid", "abc", { path: "/" }), TypeError);
 * ```
 */
export class Cookie {
  /** The cookie name. */
  readonly name: string;
  /** The cookie value (before percent-encoding). */
  readonly value: string;
  /** Seconds until expiry. */
  readonly maxAge?: number;
  /** Expiry date. */
  readonly expires?: Date;
  /** Path attribute. */
  readonly path?: string;
  /** Domain attribute. */
  readonly domain?: string;
  /** Secure flag. */
  readonly secure: boolean;
  /** HttpOnly flag. */
  readonly httpOnly: boolean;
  /** SameSite attribute. */
  readonly sameSite?: "Strict" | "Lax" | "None";
  /** Partitioned flag. */
  readonly partitioned: boolean;

  /**
   * Creates a cookie and checks it.
   *
   * @param name A token (RFC 6265 `cookie-name`).
   * @param value Any text; it is percent-encoded when written.
   * @param options The attributes.
   * @throws {TypeError} When the name is not a token, the value has a lone
   *   surrogate, name and value are over 4096 bytes, an attribute is
   *   malformed, or a `__Host-`/`__Secure-` prefix (in any case),
   *   `SameSite=None` or `Partitioned` lacks what browsers require of it.
   *
   * @example
   * ```ts
   * import { Cookie } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const c = new Cookie("n", "v", { maxAge: 60, domain: "example.com" });
   * assert.equal(c.maxAge, 60);
   * assert.throws(() => new Cookie("bad name", "v"), TypeError);
   * ```
   */
  constructor(name: string, value: string, options: CookieOptions = {}) {
    this.name = name;
    this.value = String(value);
    this.maxAge = options.maxAge;
    this.expires = options.expires === undefined
      ? undefined
      : new Date(+options.expires);
    this.path = options.path;
    this.domain = options.domain;
    this.secure = options.secure ?? false;
    this.httpOnly = options.httpOnly ?? false;
    this.sameSite = options.sameSite;
    this.partitioned = options.partitioned ?? false;
    validate(this);
  }

  /**
   * The `Set-Cookie` header value.
   *
   * @returns `name=value` and the attributes, joined by `"; "`.
   *
   * @example
   * ```ts
   * import { Cookie } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const c = new Cookie("a", "b", { expires: new Date(0), secure: true, sameSite: "None" });
   * assert.equal(c.toString(), "a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=None");
   * ```
   */
  toString(): string {
    let out = `${this.name}=${encodeURIComponent(this.value)}`;
    if (this.maxAge !== undefined) {
      out += `; Max-Age=${Math.max(0, Math.floor(this.maxAge))}`;
    }
    if (this.expires !== undefined) {
      out += `; Expires=${this.expires.toUTCString()}`;
    }
    if (this.domain !== undefined) out += `; Domain=${this.domain}`;
    if (this.path !== undefined) out += `; Path=${this.path}`;
    if (this.secure) out += "; Secure";
    if (this.httpOnly) out += "; HttpOnly";
    if (this.sameSite !== undefined) out += `; SameSite=${this.sameSite}`;
    if (this.partitioned) out += "; Partitioned";
    return out;
  }
}

function validate(cookie: Cookie): void {
  const fail = (why: string): never => {
    throw new TypeError(`Cannot set cookie "${cookie.name}": ${why}`);
  };
  if (!TOKEN.test(cookie.name)) fail("the name must be an RFC 6265 token");
  if (!cookie.value.isWellFormed()) fail("the value has a lone surrogate");
  if (cookie.name.length + encodeURIComponent(cookie.value).length > 4096) {
    fail("the name and value are over 4096 bytes");
  }
  if (cookie.maxAge !== undefined && !Number.isFinite(cookie.maxAge)) {
    fail("maxAge must be a finite number of seconds");
  }
  if (cookie.expires !== undefined) {
    const year = cookie.expires.getUTCFullYear();
    if (Number.isNaN(year)) fail("expires is an invalid Date");
    if (year < 1601 || year > 9999) {
      fail("expires must be between the years 1601 and 9999");
    }
  }
  if (cookie.domain !== undefined && !DOMAIN.test(cookie.domain)) {
    fail(`the domain "${cookie.domain}" is not a host name`);
  }
  if (cookie.path !== undefined && !PATH.test(cookie.path)) {
    fail("the path must be printable ASCII without ';'");
  }
  if (
    cookie.sameSite !== undefined &&
    !["Strict", "Lax", "None"].includes(cookie.sameSite)
  ) {
    fail('sameSite must be "Strict", "Lax" or "None"');
  }
  if (cookie.sameSite === "None" && !cookie.secure) {
    fail("SameSite=None needs secure: true");
  }
  if (cookie.partitioned && !cookie.secure) {
    fail("Partitioned needs secure: true");
  }
  // Browsers match the prefixes in any case.
  const lower = cookie.name.toLowerCase();
  if (lower.startsWith("__secure-") && !cookie.secure) {
    fail("the __Secure- prefix needs secure: true");
  }
  if (lower.startsWith("__host-")) {
    if (!cookie.secure || cookie.path !== "/" || cookie.domain !== undefined) {
      fail('the __Host- prefix needs secure: true, path: "/" and no domain');
    }
  }
}

/**
 * A cookie that tells the browser to drop the cookie `name`: empty value,
 * `Max-Age=0` and an `Expires` date in 1970.
 *
 * @param name The cookie to drop.
 * @param options The `path` and `domain` it was set with (others are kept).
 * @returns The expiring cookie.
 *
 * @example
 * ```ts
 * import { expireCookie } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   expireCookie("sid", { path: "/" }).toString(),
 *   "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
 * );
 * ```
 */
export function expireCookie(
  name: string,
  options: CookieOptions = {},
): Cookie {
  return new Cookie(name, "", { ...options, maxAge: 0, expires: new Date(0) });
}

/**
 * Parses a `Cookie` request header. It never throws: pairs without `=` and
 * empty names are skipped; names starting with `$` are cookies like any
 * other; double quotes around a value are removed; raw UTF-8 bytes, which
 * browsers send for text past ASCII and `Deno.serve` hands over one char per
 * byte, are decoded as UTF-8 (a pair that is not valid UTF-8 is kept as it
 * came); and percent-escapes are decoded when they are valid UTF-8
 * (otherwise the value is kept as sent).
 *
 * @param header The header value (`null` or `undefined` for none).
 * @returns Every cookie, in the order sent (a name sent twice has two values:
 *   `get` gives the first).
 *
 * @example
 * ```ts
 * import { parseCookieHeader } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const jar = parseCookieHeader('a=1; b="two"; a=3; =x; junk; c=%E2%82%AC; d=caf\u00c3\u00a9');
 * assert.deepEqual(jar.getAll("a"), ["1", "3"]);
 * assert.equal(jar.get("b"), "two");
 * assert.equal(jar.get("c"), "\u20ac");
 * assert.equal(jar.get("d"), "caf\u00e9");
 * ```
 */
export function parseCookieHeader(
  header: string | null | undefined,
): MultiDict<string> {
  const cookies = new MultiDict<string>();
  if (!header) return cookies;
  const raw = NON_ASCII.test(header);
  for (let part of header.split(";")) {
    if (raw) part = fromUtf8Bytes(part);
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const name = trimWsp(part, 0, eq);
    if (name === "") continue;
    let value = trimWsp(part, eq + 1, part.length);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1);
    }
    cookies.append(name, decodeValue(value));
  }
  return cookies;
}

/**
 * `text` from `start` to `end` without the spaces and tabs around it
 * (RFC 6265's WSP: `trim()` would also eat U+00A0, U+FEFF or U+3000 that
 * begin or end a UTF-8 value).
 */
function trimWsp(text: string, start: number, end: number): string {
  while (start < end && isWsp(text.charCodeAt(start))) start++;
  while (end > start && isWsp(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

const NON_ASCII = /[\u0080-\uffff]/;
const NOT_BYTES = /[\u0100-\uffff]/;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * `text` read as the UTF-8 bytes it carries one per char, or as it is when
 * it holds a char past 0xFF or the bytes are not valid UTF-8.
 */
function fromUtf8Bytes(text: string): string {
  if (!NON_ASCII.test(text) || NOT_BYTES.test(text)) return text;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  try {
    return UTF8.decode(bytes);
  } catch {
    return text;
  }
}

function decodeValue(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

const keys = new Map<string, Promise<CryptoKey>>();
const MAX_CACHED_KEYS = 64;

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value!);
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keys.set(secret, key);
  }
  return key;
}

function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(
    /\//g,
    "_",
  )
    .replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function secretsOf(
  secret: string | readonly string[],
  action: "sign" | "verify",
): readonly string[] {
  const problem = secretProblem(secret);
  if (problem !== undefined) {
    throw new TypeError(`Cannot ${action} the cookie value: ${problem}`);
  }
  return typeof secret === "string" ? [secret] : secret;
}

/** What is wrong with a secret a caller gave, if anything. */
function secretProblem(secret: unknown): string | undefined {
  const needed = "a secret is needed";
  if (secret === undefined || secret === null) return needed;
  if (secret === "") return `${needed}, not an empty string`;
  if (typeof secret === "string") return undefined;
  if (!Array.isArray(secret)) {
    return `${needed}: give a string or a list of strings, not ${
      typeName(secret)
    }`;
  }
  if (secret.length === 0) return `${needed}, not an empty list`;
  const bad = secret.findIndex((s) => typeof s !== "string" || s === "");
  if (bad === -1) return undefined;
  return `${needed}: the secret at index ${bad} of the list is ${
    secret[bad] === "" ? "an empty string" : typeName(secret[bad])
  }`;
}

function typeName(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value !== "object") return `a ${typeof value}`;
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

/**
 * Signs a cookie value with HMAC-SHA-256: the result is the value, a `.` and
 * the base64url signature.
 *
 * @param value The value to protect.
 * @param secret The key, or a list of keys newest first (the first signs).
 * @returns The signed value.
 * @throws {TypeError} When no usable secret is given: none, an empty string,
 *   an empty list, or a list holding something else than a non-empty
 *   string.
 *
 * @example
 * ```ts
 * import { signCookieValue, verifyCookieValue } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const signed = await signCookieValue("user=42", "s3cret");
 * assert.equal(await verifyCookieValue(signed, "s3cret"), "user=42");
 * assert.equal(await verifyCookieValue(signed, "other"), undefined);
 * await assert.rejects(() => signCookieValue("user=42", ""), {
 *   name: "TypeError",
 *   message: "Cannot sign the cookie value: a secret is needed, not an empty string",
 * });
 * ```
 */
export async function signCookieValue(
  value: string,
  secret: string | readonly string[],
): Promise<string> {
  const key = await hmacKey(secretsOf(secret, "sign")[0]);
  const signature = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(value),
  );
  return `${value}.${toBase64Url(new Uint8Array(signature))}`;
}

/**
 * Checks a value made by {@linkcode signCookieValue}, in constant time.
 *
 * @param signed The signed value, as the client sent it back.
 * @param secret The key, or a list of keys newest first: a value signed with
 *   any of them is accepted, so keys can be rotated.
 * @returns The original value, or `undefined` when the signature is missing
 *   or wrong.
 * @throws {TypeError} When no usable secret is given (as
 *   {@linkcode signCookieValue}).
 *
 * @example
 * ```ts
 * import { signCookieValue, verifyCookieValue } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const old = await signCookieValue("v", "old-key");
 * assert.equal(await verifyCookieValue(old, ["new-key", "old-key"]), "v");
 * assert.equal(await verifyCookieValue("v.forged", "old-key"), undefined);
 * ```
 */
export async function verifyCookieValue(
  signed: string,
  secret: string | readonly string[],
): Promise<string | undefined> {
  const secrets = secretsOf(secret, "verify");
  const dot = signed.lastIndexOf(".");
  if (dot === -1) return undefined;
  const value = signed.slice(0, dot);
  const text = signed.slice(dot + 1);
  const signature = fromBase64Url(text);
  // Only the one canonical spelling of a signature is accepted.
  if (!signature || signature.byteLength !== 32) return undefined;
  if (toBase64Url(signature) !== text) return undefined;
  const data = new TextEncoder().encode(value);
  for (const s of secrets) {
    const ok = await crypto.subtle.verify(
      "HMAC",
      await hmacKey(s),
      signature,
      data,
    );
    if (ok) return value;
  }
  return undefined;
}
