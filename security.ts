/**
 * Protection against cross-site request forgery (CSRF): {@linkcode csrf}
 * refuses, with a 403, the requests that another site makes a user's browser
 * send to this one (a hidden form that posts to `/transfer` with the user's
 * session cookie), and {@linkcode csrfToken} gives the session-bound token
 * for the apps that must also protect browsers too old to say where a
 * request comes from.
 *
 * This follows Go 1.25's `net/http` `CrossOriginProtection`. Requests whose
 * method is GET, HEAD or OPTIONS are never refused: they must not change
 * anything (a GET with side effects is not protected). For the other
 * methods, the browser's `Sec-Fetch-Site` header decides first: `same-origin`
 * and `none` (the user typed the address or used a bookmark) pass, anything
 * else (`cross-site`, `same-site`, an unknown value) is refused. Without it
 * (browsers older than 2023, or a plain HTTP origin, where browsers do not
 * send it), the `Origin` header must be the request's own origin: scheme,
 * host and port of the request's URL as the app sees it, so behind
 * {@linkcode useXForwarded} the forwarded scheme and host, and under
 * {@linkcode mount} the outer host. Requests with neither header are not
 * from a browser form or `fetch` of another site (browsers send `Origin`
 * with every cross-origin POST), and pass: API clients, `curl`, tests.
 * A refused request can still pass when its `Origin` is one of
 * `trustedOrigins`, or when `bypass` says so (for routes that take
 * cross-site posts by design, such as webhooks).
 *
 * Differences from Go: the `Origin` check compares the scheme too (Go
 * compares the host only, and lets an `http:` page post to the `https:`
 * site); `bypass` is a predicate instead of mux patterns; and there are
 * optional session-bound tokens (`csrf({ tokens: true })`), which Go left
 * out.
 *
 * @example A form that posts to its own site
 * ```ts
 * import { compose, DispatcherApp, Response, sessionMiddleware } from "@pesto/pesto";
 * import { csrf } from "@pesto/pesto/security";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/transfer", "POST", () => new Response("sent"));
 * const fetch = compose(sessionMiddleware(), csrf())(app);
 * const post = (headers: Record<string, string>) =>
 *   fetch(new Request("https://bank.test/transfer", { method: "POST", body: "to=eve", headers }));
 *
 * // A hidden form on evil.test:
 * const forged = await post({ "Sec-Fetch-Site": "cross-site", Origin: "https://evil.test" });
 * assert.equal(forged.status, 403);
 * assert.equal(await forged.text(), "Cross-origin request refused\n");
 * // The bank's own page, in a browser with and without Sec-Fetch-Site:
 * assert.equal((await post({ "Sec-Fetch-Site": "same-origin" })).status, 200);
 * assert.equal((await post({ Origin: "https://bank.test" })).status, 200);
 * assert.equal((await post({ Origin: "http://bank.test" })).status, 403);
 * ```
 *
 * @module
 */
import { HttpError } from "./_message/errors.ts";
import type { RequestLimits } from "./_message/limits.ts";
import { Request } from "./_message/request.ts";
import { hex, ID_PATTERN, newId, type Session } from "./_session/session.ts";
import { type DualMiddleware, middlewareEntry } from "./_handler.ts";
import { timingSafeEqual } from "./_security/timing_safe_equal.ts";

/** Options of {@linkcode csrf}. */
export interface CsrfOptions {
  /**
   * Origins whose requests pass although they are cross-origin, each
   * exactly as browsers send it in `Origin`: `scheme://host[:port]`,
   * lower case, no path (not even `/`), no default port
   * (`"https://admin.example.com"`). They pass the origin check only: with
   * `tokens`, they still need a token.
   * @default {[]}
   */
  trustedOrigins?: Iterable<string>;
  /**
   * Says which requests take cross-site posts by design (a webhook, a
   * payment provider's callback): a request for which it returns `true`
   * is passed on unchecked (no origin check, no token). It is asked at
   * most once per request, only for a method other than GET, HEAD and
   * OPTIONS, and only when a check would refuse the request or, with
   * `tokens`, before the token is read. It must return a boolean
   * synchronously.
   *
   * @example `bypass: (request) => request.pathInfo.startsWith("/hooks/")`
   * @default {undefined} (nothing is bypassed)
   */
  bypass?: (request: Request) => boolean;
  /**
   * Also require, for every method other than GET, HEAD and OPTIONS, the
   * session's token ({@linkcode csrfToken}) in a `_csrf` form field
   * (urlencoded or multipart) or an `X-CSRF-Token` header: for apps that
   * must protect browsers that send neither `Sec-Fetch-Site` nor `Origin`.
   * Needs `sessionMiddleware()` before `csrf()` in `compose`. Non-browser
   * clients then need a token too.
   * @default {false}
   */
  tokens?: boolean;
  /**
   * The limits `csrf()` reads the form with to find the `_csrf` field
   * (with `tokens` only). The body is read once, for the app too: a
   * multipart form is parsed with these limits even when the route has
   * larger ones, so give here the largest limits of the routes that take
   * forms, or send the token in the `X-CSRF-Token` header (then the body is
   * not read).
   * @default {DEFAULT_LIMITS}
   */
  limits?: RequestLimits;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const CROSS_ORIGIN = "Cross-origin request refused";
const BAD_TOKEN = "Missing or wrong CSRF token";
/** Where the session keeps its token secret. */
const SECRET_KEY = "pesto.csrf";
/** A secret's length: 32 random bytes (256 bits), as 64 hex digits. */
const SECRET_BYTES = 32;
/** A token: a 32-byte pad, then the secret XOR the pad, in hex. */
const TOKEN_PATTERN = /^[0-9a-f]{128}$/;

/**
 * A middleware that refuses cross-site requests with a 403 (see the module
 * documentation for the rules and their origin): a request whose method is
 * not GET, HEAD or OPTIONS is refused when its `Sec-Fetch-Site` header is
 * present and neither `same-origin` nor `none`, or, without that header,
 * when its `Origin` header is present and is not the request's own origin
 * (scheme, host and port). Requests with neither header pass.
 *
 * With `tokens: true` such requests also need the session's token
 * ({@linkcode csrfToken}) in a `_csrf` form field or an `X-CSRF-Token`
 * header; the form is read through the request's `form()`, so the app can
 * still read it.
 *
 * The 403 is plain text saying why: `Cross-origin request refused` or
 * `Missing or wrong CSRF token`. A request whose Host is malformed is
 * answered 400 when the check needs its origin, and a form that breaks a
 * limit or is malformed gets its own error (413, 400, 408).
 *
 * Put it inside the middlewares that change the request's URL
 * ({@linkcode useXForwarded}, {@linkcode mount}) and, with tokens, inside
 * `sessionMiddleware()`: `compose(useXForwarded(), sessionMiddleware(),
 * csrf({ tokens: true }))(app)`. Behind a proxy that ends TLS, the app
 * sees `http:` while browsers send an `https:` `Origin`: without
 * `useXForwarded()`, posts from browsers that send `Origin` but not
 * `Sec-Fetch-Site` are refused.
 *
 * @param options Trusted origins, the bypass, tokens.
 * @returns A {@linkcode Middleware}.
 * @throws {TypeError} When a trusted origin is malformed, or `bypass` is
 *   not a function. With tokens, a request that did not go through
 *   `sessionMiddleware()` throws a `TypeError` naming it, and so does a
 *   `bypass` that does not return a boolean.
 *
 * @example Tokens for browsers without Sec-Fetch-Site and Origin
 * ```ts
 * import { compose, DispatcherApp, Response, sessionMiddleware } from "@pesto/pesto";
 * import { csrf, csrfToken } from "@pesto/pesto/security";
 * import { TestApp } from "@pesto/pesto/testing";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/note", "GET", async (request) =>
 *   new Response(`<form method="post">
 *     <input type="hidden" name="_csrf" value="${await csrfToken(request)}">
 *     <textarea name="text"></textarea></form>`));
 * app.match("/note", "POST", async (request) =>
 *   new Response(`saved ${await request.get("text")}`));
 * const client = new TestApp(compose(sessionMiddleware(), csrf({ tokens: true }))(app));
 *
 * const page = await client.get("/note");
 * const token = page.text.match(/value="([0-9a-f]+)"/)![1];
 * assert.equal((await client.post("/note", { form: { _csrf: token, text: "hi" } })).text, "saved hi");
 * assert.equal((await client.post("/note", { form: { text: "hi" } })).status, 403);
 * ```
 *
 * @example Trusted origins and a webhook
 * ```ts
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import { csrf } from "@pesto/pesto/security";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/<path:path>", "POST", () => new Response("ok"));
 * const fetch = csrf({
 *   trustedOrigins: ["https://admin.example.com"],
 *   bypass: (request) => request.pathInfo.startsWith("/hooks/"),
 * })(app);
 * const post = (path: string, origin: string) =>
 *   fetch(new Request(`https://example.com${path}`, {
 *     method: "POST", headers: { "Sec-Fetch-Site": "cross-site", Origin: origin },
 *   }));
 * assert.equal((await post("/notes", "https://admin.example.com")).status, 200);
 * assert.equal((await post("/hooks/payments", "https://pay.test")).status, 200);
 * assert.equal((await post("/notes", "https://pay.test")).status, 403);
 * assert.throws(() => csrf({ trustedOrigins: ["https://example.com/"] }), TypeError);
 * ```
 */
export function csrf(options: CsrfOptions = {}): DualMiddleware {
  const trusted = trustedOriginsOf(options.trustedOrigins);
  const bypass = options.bypass;
  if (bypass !== undefined && typeof bypass !== "function") {
    throw new TypeError(
      `Cannot use csrf(): bypass must be a function (request) => boolean, not ${typeof bypass}`,
    );
  }
  const tokens = options.tokens === true;
  const limits = options.limits;
  return middlewareEntry((next) => async (raw, info) => {
    if (SAFE_METHODS.has(raw.method)) return next(raw, info);
    const request = new Request(raw, { info, limits });
    let bypassed: boolean | undefined;
    const isBypassed = () => bypassed ??= askBypass(bypass, request);
    try {
      if (!sameOriginOrTrusted(request, trusted) && !isBypassed()) {
        return new HttpError(403, CROSS_ORIGIN).toResponse();
      }
      if (tokens && !isBypassed() && !await hasToken(request)) {
        return new HttpError(403, BAD_TOKEN).toResponse();
      }
    } catch (error) {
      // A malformed Host, a form over a limit or malformed: its own answer.
      if (error instanceof HttpError) return error.toResponse();
      throw error;
    }
    return next(raw, info);
  }, "csrf()");
}

/**
 * The session's CSRF token, to put in a form's hidden `_csrf` field or to
 * send in an `X-CSRF-Token` header; {@linkcode csrf} with `tokens: true`
 * requires it for every method other than GET, HEAD and OPTIONS.
 *
 * The session keeps one secret (256 bits from `crypto.getRandomValues`,
 * made on first use, stored under the session key `pesto.csrf`); each call
 * returns it masked with a fresh random pad, so the text differs on every
 * page while every one of them is accepted for the session. The mask keeps
 * the secret out of reach of compression side channels (BREACH), which
 * could otherwise guess a secret repeated in compressed pages. The secret
 * lives as long as the session: `session.regenerate()` keeps it,
 * `session.invalidate()` and `session.clear()` drop it (forms rendered
 * before then are refused). To give a new secret on login, as Django does,
 * call `request.session.delete("pesto.csrf")` after `regenerate()`: a
 * secret learned before login (through a session cookie planted from a
 * sibling domain) is then useless.
 *
 * @param request The request, which went through `sessionMiddleware()`.
 * @returns A token: 128 lowercase hex digits.
 * @throws {TypeError} When the request did not go through
 *   `sessionMiddleware()`, or is not a Pesto `Request`.
 *
 * @example
 * ```ts
 * import {
 *   compose, Request as PestoRequest, Response, sessionMiddleware, toHandler,
 * } from "@pesto/pesto";
 * import { csrfToken } from "@pesto/pesto/security";
 * import assert from "node:assert/strict";
 *
 * const fetch = compose(sessionMiddleware())(toHandler(async (request) =>
 *   new Response(`${await csrfToken(request)} ${await csrfToken(request)}`)));
 * const [a, b] = (await (await fetch(new Request("http://x.test/"))).text()).split(" ");
 * assert.match(a, /^[0-9a-f]{128}$/);
 * assert.notEqual(a, b); // masked afresh, both valid
 *
 * // Without sessionMiddleware() there is nowhere to keep it:
 * const alone = new PestoRequest(new Request("http://x.test/"));
 * await assert.rejects(csrfToken(alone), /sessionMiddleware\(\)/);
 * ```
 */
export function csrfToken(request: Request): Promise<string> {
  // Settles with what tokenOf returns, or rejects with what it throws.
  return new Promise((resolve) => resolve(tokenOf(request)));
}

function tokenOf(request: Request): string {
  if (!(request instanceof Request)) {
    throw new TypeError(
      "Cannot make a CSRF token: expected a Pesto Request; wrap a web Request with new Request(raw)",
    );
  }
  const session = sessionOf(request, "Cannot make a CSRF token");
  let secret = secretOf(session);
  if (secret === undefined) {
    secret = newId(); // 256 random bits, as 64 hex digits
    session.set(SECRET_KEY, secret);
  }
  return mask(secret);
}

// ---------------------------------------------------------------------------
// The origin check

/** The trusted origins, each checked to be a serialised origin. */
function trustedOriginsOf(origins: Iterable<string> | undefined): Set<string> {
  if (origins === undefined) return new Set();
  if (typeof origins === "string" || origins == null) {
    throw new TypeError(
      "Cannot use csrf(): trustedOrigins must be a list of origins",
    );
  }
  const set = new Set<string>();
  for (const origin of origins) {
    let url: URL | undefined;
    try {
      if (typeof origin === "string") url = new URL(origin);
    } catch { /* reported below */ }
    if (
      url === undefined ||
      (url.protocol !== "http:" && url.protocol !== "https:") ||
      url.origin !== origin || url.hostname.includes("*")
    ) {
      const fix = url !== undefined && url.origin !== "null" &&
          !url.hostname.includes("*")
        ? ` ("${url.origin}")`
        : "";
      throw new TypeError(
        `Cannot use csrf(): trusted origin ${
          JSON.stringify(origin)
        } is malformed: write it as browsers send it, http(s)://host[:port] in lower case, with no path, no default port and no wildcard${fix}`,
      );
    }
    set.add(origin);
  }
  return set;
}

/**
 * Whether the request comes from its own origin or a trusted one, as far
 * as `Sec-Fetch-Site` and `Origin` tell (an empty header counts as
 * absent, as in Go).
 */
function sameOriginOrTrusted(
  request: Request,
  trusted: ReadonlySet<string>,
): boolean {
  const headers = request.headers;
  const origin = headers.get("origin");
  const site = headers.get("sec-fetch-site");
  if (site) {
    if (site === "same-origin" || site === "none") return true;
  } else {
    // Neither header: not a cross-origin request from a browser.
    if (!origin) return true;
    // The URL's origin is serialised as browsers serialise `Origin`: lower
    // case, no default port.
    if (origin === request.url.origin) return true;
  }
  return origin !== null && trusted.has(origin);
}

function askBypass(
  bypass: ((request: Request) => boolean) | undefined,
  request: Request,
): boolean {
  if (bypass === undefined) return false;
  const answer: unknown = bypass(request);
  if (typeof answer !== "boolean") {
    throw new TypeError(
      `Cannot check the request in csrf(): bypass returned ${
        answer instanceof Promise ? "a Promise" : typeof answer
      } instead of a boolean`,
    );
  }
  return answer;
}

// ---------------------------------------------------------------------------
// Tokens

function sessionOf(request: Request, what: string): Session {
  try {
    return request.session;
  } catch {
    throw new TypeError(
      `${what}: the request did not go through sessionMiddleware(); put it before csrf(): compose(sessionMiddleware(), csrf({ tokens: true }))`,
    );
  }
}

/** The session's secret, when it has a well-formed one. */
function secretOf(session: Session): string | undefined {
  const secret = session.get(SECRET_KEY);
  return typeof secret === "string" && ID_PATTERN.test(secret)
    ? secret
    : undefined;
}

/**
 * Whether the request carries a token of its session's secret: the
 * `X-CSRF-Token` header when there is one, else the `_csrf` form field.
 */
async function hasToken(request: Request): Promise<boolean> {
  const secret = secretOf(sessionOf(request, "Cannot check the CSRF token"));
  if (secret === undefined) return false;
  let given: unknown = request.headers.get("x-csrf-token");
  if (given === null) given = (await request.form()).get("_csrf");
  if (typeof given !== "string") return false;
  const unmasked = unmask(given);
  if (unmasked === undefined) return false;
  return timingSafeEqual(unmasked, secret);
}

/** `secret` (hex) masked with a fresh random pad: pad, then secret XOR pad. */
function mask(secret: string): string {
  const pad = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  const out = new Uint8Array(2 * SECRET_BYTES);
  out.set(pad);
  for (let i = 0; i < SECRET_BYTES; i++) {
    out[SECRET_BYTES + i] = pad[i] ^
      parseInt(secret.slice(2 * i, 2 * i + 2), 16);
  }
  return hex(out);
}

/** The secret (hex) inside a token; `undefined` when it is malformed. */
function unmask(token: string): string | undefined {
  if (!TOKEN_PATTERN.test(token)) return undefined;
  const secret = new Uint8Array(SECRET_BYTES);
  for (let i = 0; i < SECRET_BYTES; i++) {
    const pad = parseInt(token.slice(2 * i, 2 * i + 2), 16);
    const masked = parseInt(
      token.slice(2 * (SECRET_BYTES + i), 2 * (SECRET_BYTES + i) + 2),
      16,
    );
    secret[i] = pad ^ masked;
  }
  return hex(secret);
}
