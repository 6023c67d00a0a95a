// A registered route and the URLs built from it.
import { requestContext } from "../_runtime/async_context.ts";
import { encodePathText, encodeSegment, isValidHost } from "../_http/path.ts";
import { makeQuery } from "../_http/query.ts";
import type { Request } from "../_message/request.ts";
import { URLGenerationError } from "./errors.ts";
import { encodeLiteral, type ParsedPattern } from "./pattern.ts";
import type { PathArgs, RouteHandler, UrlArgs, UrlOptions } from "./types.ts";

/** What a URL is built for, in messages: the route's name and pattern. */
function describe(pattern: string, name: string | undefined): string {
  return name === undefined
    ? `route "${pattern}"`
    : `route "${name}" ("${pattern}")`;
}

/** The encoded path of `parsed` for `params`. */
export function buildPath(
  parsed: ParsedPattern,
  params: unknown,
  name: string | undefined,
): string {
  const values =
    (typeof params === "object" && params !== null ? params : {}) as Record<
      string | number,
      unknown
    >;
  let out = "";
  for (const token of parsed.tokens) {
    if (token.kind === "literal") {
      out += encodeLiteral(token.text);
      continue;
    }
    const fail = (why: string): never => {
      throw new URLGenerationError(
        `Cannot build a URL for ${describe(parsed.source, name)}: ${why}`,
      );
    };
    const value = values[token.key];
    if (value === undefined) fail(`missing value for ${token.source}`);
    let text: string;
    try {
      text = token.converter.format(value);
    } catch (error) {
      return fail(
        `bad value ${show(value)} for ${token.source}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    if (typeof text !== "string") {
      fail(`the converter of ${token.source} did not format ${show(value)}`);
    }
    if (text.includes("\0")) {
      fail(`the value ${show(value)} for ${token.source} holds a NUL`);
    }
    let encoded: string;
    try {
      encoded = token.converter.spansSegments === true
        ? encodePathText(text)
        : encodeSegment(text);
    } catch {
      return fail(
        `the value ${show(value)} for ${token.source} is not well-formed text`,
      );
    }
    if (!token.check.test(encoded)) {
      fail(
        `the value ${show(value)} does not match ${token.source} once encoded`,
      );
    }
    out += encoded;
  }
  const segments = out.split("/");
  if (
    segments.some((s, i) =>
      i > 0 &&
      (s === "." || s === ".." || (s === "" && i < segments.length - 1))
    )
  ) {
    throw new URLGenerationError(
      `Cannot build a URL for ${
        describe(parsed.source, name)
      }: the path "${out}" has empty, "." or ".." segments, which requests never keep`,
    );
  }
  return out;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "object" && value !== null) {
    return Array.isArray(value) ? "an array" : "an object";
  }
  return String(value);
}

/**
 * A registered route: its pattern, name and handler, and the builders of
 * its URL. Returned by `app.match()`.
 *
 * @typeParam P The params object, typed from the pattern.
 *
 * @example
 * ```ts
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * const post = app.match("/posts/<id:int>", "GET", (_req, { id }) => new Response(`#${id}`), {
 *   name: "post",
 * });
 * assert.equal(post.name, "post");
 * assert.equal(post.path({ id: 7 }), "/posts/7");
 * assert.equal(post.url({ id: 7 }, { host: "blog.test", query: { ref: "rss" } }),
 *   "http://blog.test/posts/7?ref=rss");
 * ```
 */
export class Route<P = Record<string, unknown>> {
  /** The full pattern, prefix included. */
  readonly pattern: string;
  /** The route's name, if it has one. */
  readonly name?: string;
  /** The handler (the first one, for `match(pattern, { GET: ..., POST: ... })`). */
  readonly handler: RouteHandler<P>;
  /** The handlers by method, before decorators. */
  readonly handlers: Readonly<Record<string, RouteHandler<P>>>;
  #build: (params?: Record<string | number, unknown>) => string;

  /**
   * Made by `app.match()`; not called directly.
   *
   * @param pattern The full pattern.
   * @param build Builds the encoded path from params.
   * @param handlers The handlers by method.
   * @param name The route's name.
   */
  constructor(
    pattern: string,
    build: (params?: Record<string | number, unknown>) => string,
    handlers: Record<string, RouteHandler<P>>,
    name?: string,
  ) {
    this.pattern = pattern;
    this.#build = build;
    this.handlers = Object.freeze({ ...handlers });
    this.handler = Object.values(handlers)[0];
    this.name = name;
  }

  /**
   * The path of this route for `params`, percent-encoded, without the
   * script name.
   *
   * @param args The params (optional when the pattern has none).
   * @returns The encoded path.
   * @throws {URLGenerationError} When a param is missing or cannot be
   *   formatted.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * const r = app.match("/docs/<dir:path>/<name:unicode>.pdf", "GET", () => new Response(""));
   * assert.equal(r.path({ dir: "all/2008", name: "report #1" }), "/docs/all/2008/report%20%231.pdf");
   * ```
   */
  path(...args: PathArgs<P>): string {
    return this.#build(args[0] as Record<string, unknown> | undefined);
  }

  /**
   * The absolute URL of this route for `params`, built from the current
   * request's scheme, host and script name (each overridable), like Pesto.
   *
   * @param args The params (optional when the pattern has none), then
   *   options: `query`, `fragment`, `scheme`, `host`, `scriptName`.
   * @returns The absolute URL.
   * @throws {URLGenerationError} When a param is missing or cannot be
   *   formatted, or when called outside a request without `host`.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * const home = app.match("/", "GET", (): Response => new Response(home.url()));
   * const r = await app.fetch(new Request("https://shop.test/"));
   * assert.equal(await r.text(), "https://shop.test/");
   * ```
   */
  url(...args: UrlArgs<P>): string {
    const options = args[1] ?? {};
    const request = requestContext.getStore() as Request | undefined;
    if (!request && options.host === undefined) {
      throw new URLGenerationError(
        `Cannot build a URL for ${
          describe(this.pattern, this.name)
        } outside a request: pass { host }`,
      );
    }
    return absoluteUrl(
      this.path(...([args[0]] as PathArgs<P>)),
      options,
      request,
    );
  }
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

function absoluteUrl(
  path: string,
  options: UrlOptions,
  request: Request | undefined,
): string {
  if (options.host !== undefined && !isValidHost(options.host)) {
    throw new URLGenerationError(
      `Cannot build a URL: "${options.host}" is not a valid host`,
    );
  }
  if (options.scheme !== undefined && !SCHEME.test(options.scheme)) {
    throw new URLGenerationError(
      `Cannot build a URL: "${options.scheme}" is not a valid scheme`,
    );
  }
  const scheme = options.scheme ?? request?.scheme ?? "http";
  const host = options.host ?? request!.host;
  const script = encodePathText(
    (options.scriptName ?? request?.scriptName ?? "").replace(/\/$/, ""),
  );
  const query = options.query === undefined
    ? ""
    : makeQuery(options.query).replace(/^\?/, "");
  let fragment = "";
  if (options.fragment) {
    try {
      fragment = "#" + encodeURI(options.fragment).replace(/#/g, "%23");
    } catch {
      throw new URLGenerationError(
        "Cannot build a URL: the fragment is not well-formed text",
      );
    }
  }
  return `${scheme}://${host}${script}${path}${
    query ? "?" + query : ""
  }${fragment}`;
}
