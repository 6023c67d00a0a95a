/**
 * A test client: {@linkcode TestApp} calls an app in-process, with no
 * network, keeps cookies across calls like a browser, can follow redirects
 * and send forms, JSON and multipart file uploads, and returns a
 * {@linkcode TestResponse} whose body is already read.
 *
 * What `new TestApp(app)` calls: a `DispatcherApp`, or any object with a
 * `fetch` method (a Hono app, `{ fetch: handler }`), is called through
 * that `fetch`; a plain function is taken as a Pesto handler and wrapped
 * with `toHandler`. A function is never guessed at: to test a bare fetch
 * handler (for example a middleware stack), pass `{ fetch: handler }`.
 *
 * This follows Pesto's `pesto.testing.TestApp`. Differences: requests go
 * through fetch handlers rather than a WSGI environ; there is a cookie jar
 * and redirects can be followed; `post` sends urlencoded forms joined by
 * `&`, JSON, or any body; headers come back as sent (not sorted, no default
 * `Content-Type` added); and the response's body is `text` (Pesto: `body`).
 *
 * @example
 * ```ts
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import { TestApp } from "@pesto/pesto/testing";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/hello", "GET", (request) => new Response(`Hello ${request.query.get("name")}`));
 * app.match("/login", "POST", async (request) =>
 *   Response.redirect("/hello?name=" + await request.get("user"), 303)
 *     .addCookie("user", String(await request.get("user"))));
 *
 * const client = new TestApp(app, { followRedirects: true });
 * const r = await client.post("/login", { form: { user: "ada" } });
 * assert.equal(r.status, 200);
 * assert.equal(r.text, "Hello ada");
 * assert.equal(await client.cookie("user"), "ada");
 * ```
 *
 * @module
 */
import type { CookieJar } from "tough-cookie";
import { makeQuery, type QueryInit } from "./_http/query.ts";
import { kOwnBodies } from "./_message/record.ts";
import {
  type FetchHandlerNeedsFromFetch,
  type Servable,
  servableFetch,
} from "./_handler.ts";

/**
 * What a {@linkcode TestApp} can call.
 *
 * @deprecated Use {@linkcode Servable}, the same type.
 */
export type TestTarget = Servable;

/** Options of `new TestApp(app, options)`. */
export interface TestAppOptions {
  /**
   * The scheme and host requests go to; paths are resolved against it.
   * @default {"http://localhost"}
   */
  baseUrl?: string;
  /**
   * Follow redirects (301, 302, 303, 307, 308) by default.
   * @default {false}
   */
  followRedirects?: boolean;
  /**
   * The most redirects followed for one call before it throws.
   * @default {10}
   */
  maxRedirects?: number;
  /** Headers sent with every request. */
  headers?: HeadersInit;
  /**
   * The client address the app sees (`request.remoteAddr`).
   * @default {"127.0.0.1"}
   */
  remoteAddr?: string;
}

/** Options of a request without a body (`get`, `head`). */
export interface TestRequestOptions {
  /** Query data, added to any query in the path. */
  query?: QueryInit;
  /** Request headers (a `Cookie` header is merged with the jar's). */
  headers?: HeadersInit;
  /** Follow redirects for this call; defaults to the app's option. */
  followRedirects?: boolean;
}

/** Options of a request with a body; give one of `form`, `json`, `body`. */
export interface TestBodyOptions extends TestRequestOptions {
  /** Form data, sent as `application/x-www-form-urlencoded`. */
  form?: QueryInit;
  /** A value sent as JSON. */
  json?: unknown;
  /** A raw body (its `Content-Type` is yours to set). */
  body?: BodyInit | null;
}

/** A file for {@linkcode TestApp.prototype.postMultipart}. */
export interface TestFile {
  /** The form field name. */
  field: string;
  /** The file name sent. */
  filename: string;
  /**
   * The file's media type.
   * @default {"application/octet-stream"}
   */
  contentType?: string;
  /** The file's content. */
  content: string | Uint8Array | Blob;
}

/** Options of {@linkcode TestApp.prototype.postMultipart}. */
export interface TestMultipartOptions extends TestRequestOptions {
  /** Text fields (arrays repeat a field). */
  fields?:
    | Record<string, string | readonly string[]>
    | Iterable<readonly [string, string]>;
  /** Files, in order. */
  files?: readonly TestFile[];
}

/**
 * A response as the test client got it, body read: `status`, `headers`,
 * `text`, `bytes`, `json()`, `getHeader(name)`.
 *
 * @example
 * ```ts
 * import { Response } from "@pesto/pesto";
 * import { TestApp } from "@pesto/pesto/testing";
 * import assert from "node:assert/strict";
 *
 * const r = await new TestApp(() => Response.json({ ok: true })).get("/");
 * assert.equal(r.status, 200);
 * assert.equal(r.getHeader("content-type"), "application/json");
 * assert.deepEqual(r.json(), { ok: true });
 * ```
 */
export class TestResponse {
  /** The status code. */
  readonly status: number;
  /** The reason phrase. */
  readonly statusText: string;
  /** The response headers. */
  readonly headers: Headers;
  /** The body, as bytes. */
  readonly bytes: Uint8Array;
  /** The URL that gave this response (after any redirects). */
  readonly url: string;
  /** The body decoded as UTF-8 (or the `Content-Type` charset). */
  readonly text: string;

  /**
   * Builds a test response (the test client does this).
   *
   * @param response The response's status and headers.
   * @param bytes Its body.
   * @param url The URL it answered.
   *
   * @example
   * ```ts
   * import { TestResponse } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const r = new TestResponse(new Response(null, { status: 204 }), new Uint8Array(), "http://localhost/");
   * assert.equal(r.status, 204);
   * assert.equal(r.text, "");
   * ```
   */
  constructor(response: globalThis.Response, bytes: Uint8Array, url: string) {
    this.status = response.status;
    this.statusText = response.statusText;
    this.headers = response.headers;
    this.bytes = bytes;
    this.url = url;
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(
      response.headers.get("content-type") ?? "",
    )?.[1];
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(charset ?? "utf-8");
    } catch {
      decoder = new TextDecoder();
    }
    this.text = decoder.decode(bytes);
  }

  /**
   * The body parsed as JSON.
   *
   * @typeParam T The type the caller expects (not checked).
   * @returns The parsed value.
   * @throws {SyntaxError} When the body is not JSON.
   *
   * @example
   * ```ts
   * import { TestResponse } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const r = new TestResponse(new Response(), new TextEncoder().encode("[1,2]"), "http://localhost/");
   * assert.deepEqual(r.json<number[]>(), [1, 2]);
   * ```
   */
  json<T = unknown>(): T {
    return JSON.parse(this.text);
  }

  /**
   * One header's value.
   *
   * @param name The header name, in any case.
   * @returns The value, or `undefined` when absent.
   *
   * @example
   * ```ts
   * import { TestResponse } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const r = new TestResponse(new Response(null, { headers: { ETag: '"1"' } }), new Uint8Array(), "http://localhost/");
   * assert.equal(r.getHeader("etag"), '"1"');
   * assert.equal(r.getHeader("x-none"), undefined);
   * ```
   */
  getHeader(name: string): string | undefined {
    return this.headers.get(name) ?? undefined;
  }

  /**
   * Every value of a header; `Set-Cookie` values one by one.
   *
   * @param name The header name, in any case.
   * @returns The values; empty when absent.
   *
   * @example
   * ```ts
   * import { TestResponse } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const headers = new Headers([["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]]);
   * const r = new TestResponse(new Response(null, { headers }), new Uint8Array(), "http://localhost/");
   * assert.deepEqual(r.getHeaders("set-cookie"), ["a=1", "b=2"]);
   * ```
   */
  getHeaders(name: string): string[] {
    if (name.toLowerCase() === "set-cookie") return this.headers.getSetCookie();
    const value = this.headers.get(name);
    return value === null ? [] : [value];
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Calls an app in-process as a browser would: see the module documentation
 * for what it can call. Cookies the app sets are kept (by domain, path,
 * expiry and `Secure`, like a browser) and sent back on later calls.
 *
 * @example A session across calls
 * ```ts
 * import { compose, DispatcherApp, Response, sessionMiddleware } from "@pesto/pesto";
 * import { TestApp } from "@pesto/pesto/testing";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/count", "POST", (request) => {
 *   const n = (request.session.get<number>("n") ?? 0) + 1;
 *   request.session.set("n", n);
 *   return new Response(String(n));
 * });
 * const client = new TestApp({ fetch: compose(sessionMiddleware())(app.fetch) });
 * await client.post("/count");
 * assert.equal((await client.post("/count")).text, "2");
 * client.clearCookies();
 * assert.equal((await client.post("/count")).text, "1");
 * ```
 */
export class TestApp {
  #fetch: (
    request: globalThis.Request,
    info?: Deno.ServeHandlerInfo,
  ) => Promise<globalThis.Response>;
  #options: TestAppOptions;
  #baseUrl: URL;
  #jar?: Promise<CookieJar>;

  /**
   * Creates a test client for an app.
   *
   * @param app A `DispatcherApp` or any object with `fetch`, a function
   *   the library made (`toHandler`'s, `compose`'s, a middleware's, ...),
   *   or a Pesto handler. A fetch handler of your own goes in as
   *   `{ fetch: handler }`.
   * @param options Base URL, redirects, default headers, client address.
   * @throws {TypeError} When `app` is neither, or `baseUrl` is not an
   *   absolute http(s) URL.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp((request) => new Response(request.requestUri), {
   *   baseUrl: "https://example.com",
   * });
   * assert.equal((await client.get("/a", { query: { b: "1" } })).text, "https://example.com/a?b=1");
   * ```
   */
  constructor(
    app: Servable | FetchHandlerNeedsFromFetch,
    options: TestAppOptions = {},
  ) {
    this.#fetch = servableFetch(app, {}, "the app in TestApp");
    this.#options = options;
    this.#baseUrl = new URL(options.baseUrl ?? "http://localhost");
    if (!/^https?:$/.test(this.#baseUrl.protocol)) {
      throw new TypeError(
        `Cannot test the app at "${options.baseUrl}": the base URL must be http or https`,
      );
    }
  }

  #cookieJar(): Promise<CookieJar> {
    return this.#jar ??= import("tough-cookie").then(({ CookieJar }) =>
      new CookieJar()
    );
  }

  /**
   * The value of a cookie the client holds for a path of the app.
   *
   * @param name The cookie name.
   * @param path The path (or URL) the cookie would be sent to.
   * @returns The value, or `undefined`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp(() => new Response("x").addCookie("theme", "dark", { path: "/" }));
   * await client.get("/");
   * assert.equal(await client.cookie("theme"), "dark");
   * ```
   */
  async cookie(name: string, path = "/"): Promise<string | undefined> {
    const jar = await this.#cookieJar();
    const cookies = await jar.getCookies(new URL(path, this.#baseUrl).href);
    return cookies.find((c) => c.key === name)?.value;
  }

  /**
   * Stores a cookie as if the app had set it.
   *
   * @param setCookie A `Set-Cookie` value, e.g. `"theme=dark; Path=/"`.
   * @param path The path (or URL) it is set from.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp((request) => new Response(request.cookies.get("theme") ?? "none"));
   * await client.setCookie("theme=dark; Path=/");
   * assert.equal((await client.get("/")).text, "dark");
   * ```
   */
  async setCookie(setCookie: string, path = "/"): Promise<void> {
    const jar = await this.#cookieJar();
    await jar.setCookie(setCookie, new URL(path, this.#baseUrl).href);
  }

  /**
   * Forgets every cookie.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp(() => new Response("x").addCookie("a", "1"));
   * await client.get("/");
   * client.clearCookies();
   * assert.equal(await client.cookie("a"), undefined);
   * ```
   */
  clearCookies(): void {
    this.#jar = undefined;
  }

  /**
   * Sends a GET request.
   *
   * @param path A path (with or without a query) or an absolute URL.
   * @param options Query, headers, redirects.
   * @returns The response.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp((request) => new Response(request.query.getAll("t").join()));
   * assert.equal((await client.get("/?t=a", { query: { t: ["b", "c"] } })).text, "a,b,c");
   * ```
   */
  get(path: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request("GET", path, options);
  }

  /**
   * Sends a HEAD request; the body is dropped, as a server would.
   *
   * @param path A path or an absolute URL.
   * @param options Query, headers, redirects.
   * @returns The response (with an empty body).
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * app.match("/", "GET", () => new Response("body"));
   * const r = await new TestApp(app).head("/");
   * assert.equal(r.status, 200);
   * assert.equal(r.text, "");
   * ```
   */
  head(path: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request("HEAD", path, options);
  }

  /**
   * Sends a DELETE request.
   *
   * @param path A path or an absolute URL.
   * @param options Query, headers, an optional body, redirects.
   * @returns The response.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const r = await new TestApp((request) => new Response(request.method)).delete("/x");
   * assert.equal(r.text, "DELETE");
   * ```
   */
  delete(path: string, options?: TestBodyOptions): Promise<TestResponse> {
    return this.request("DELETE", path, options);
  }

  /**
   * Sends a POST request with a form, JSON or a raw body.
   *
   * @param path A path or an absolute URL.
   * @param options `form`, `json` or `body`; query, headers, redirects.
   * @returns The response.
   * @throws {TypeError} When more than one of `form`, `json`, `body` is given.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp(async (request) => new Response(String(await request.get("q"))));
   * assert.equal((await client.post("/", { form: { q: "a&b" } })).text, "a&b");
   * ```
   */
  post(path: string, options?: TestBodyOptions): Promise<TestResponse> {
    return this.request("POST", path, options);
  }

  /**
   * Sends a PUT request with a form, JSON or a raw body.
   *
   * @param path A path or an absolute URL.
   * @param options `form`, `json` or `body`; query, headers, redirects.
   * @returns The response.
   * @throws {TypeError} When more than one of `form`, `json`, `body` is given.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp(async (request) => Response.json(await request.json()));
   * assert.deepEqual((await client.put("/", { json: { a: [1] } })).json(), { a: [1] });
   * ```
   */
  put(path: string, options?: TestBodyOptions): Promise<TestResponse> {
    return this.request("PUT", path, options);
  }

  /**
   * Sends a PATCH request with a form, JSON or a raw body.
   *
   * @param path A path or an absolute URL.
   * @param options `form`, `json` or `body`; query, headers, redirects.
   * @returns The response.
   * @throws {TypeError} When more than one of `form`, `json`, `body` is given.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp(async (request) => new Response(await request.text()));
   * assert.equal((await client.patch("/", { body: "raw" })).text, "raw");
   * ```
   */
  patch(path: string, options?: TestBodyOptions): Promise<TestResponse> {
    return this.request("PATCH", path, options);
  }

  /**
   * Sends a `multipart/form-data` POST, as a browser form with file inputs
   * does.
   *
   * @param path A path or an absolute URL.
   * @param options `fields` and `files`; query, headers, redirects.
   * @returns The response.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp((request) => new Response(request.contentType));
   * const r = await client.postMultipart("/upload", {
   *   fields: { title: "Notes" },
   *   files: [{ field: "file", filename: "a.txt", contentType: "text/plain", content: "hello" }],
   * });
   * assert.equal(r.text, "multipart/form-data");
   * ```
   */
  postMultipart(
    path: string,
    options: TestMultipartOptions = {},
  ): Promise<TestResponse> {
    const form = new FormData();
    const fields = options.fields ?? {};
    const pairs = Symbol.iterator in fields
      ? fields as Iterable<readonly [string, string]>
      : Object.entries(fields).flatMap(([k, v]) =>
        (typeof v === "string" ? [v] : v as readonly string[]).map((x) =>
          [k, x] as const
        )
      );
    for (const [name, value] of pairs) form.append(name, value);
    for (const file of options.files ?? []) {
      const type = file.contentType ?? "application/octet-stream";
      const content = file.content instanceof Uint8Array
        ? new Uint8Array(file.content)
        : file.content;
      form.append(
        file.field,
        new File([content], file.filename, { type }),
      );
    }
    const { fields: _, files: __, ...rest } = options;
    return this.request("POST", path, { ...rest, body: form });
  }

  /**
   * Sends a request with any method.
   *
   * @param method The HTTP method.
   * @param path A path or an absolute URL.
   * @param options Body (`form`, `json` or `body`), query, headers,
   *   redirects.
   * @returns The response, body read.
   * @throws {TypeError} When more than one of `form`, `json`, `body` is given.
   * @throws {Error} When more than `maxRedirects` redirects are followed.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const client = new TestApp((request) => new Response(request.method));
   * assert.equal((await client.request("OPTIONS", "/")).text, "OPTIONS");
   * ```
   */
  async request(
    method: string,
    path: string,
    options: TestBodyOptions = {},
  ): Promise<TestResponse> {
    const given = [options.form, options.json, options.body].filter((x) =>
      x !== undefined
    );
    if (given.length > 1) {
      throw new TypeError(
        `Cannot send ${method} ${path}: give one of form, json and body`,
      );
    }
    let url = new URL(path, this.#baseUrl);
    if (options.query !== undefined) {
      const extra = makeQuery(options.query);
      if (extra) url.search = url.search ? `${url.search}&${extra}` : extra;
    }
    const headers = new Headers(this.#options.headers);
    for (const [name, value] of new Headers(options.headers)) {
      headers.set(name, value);
    }
    let body: BodyInit | null | undefined = options.body;
    if (options.form !== undefined) {
      body = makeQuery(options.form);
      if (!headers.has("content-type")) {
        headers.set("content-type", "application/x-www-form-urlencoded");
      }
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      if (!headers.has("content-type")) {
        headers.set("content-type", "application/json");
      }
    }
    const follow = options.followRedirects ?? this.#options.followRedirects ??
      false;
    const maxRedirects = this.#options.maxRedirects ?? 10;
    for (let redirects = 0;; redirects++) {
      const response = await this.#send(method, url, headers, body);
      const location = response.getHeader("location");
      if (!follow || !REDIRECTS.has(response.status) || !location) {
        return response;
      }
      if (redirects >= maxRedirects) {
        throw new Error(
          `Too many redirects: more than ${maxRedirects} from ${method} ${path}`,
        );
      }
      url = new URL(location, url);
      if (
        response.status === 303 ||
        (response.status <= 302 && method === "POST")
      ) {
        if (method !== "HEAD") method = "GET";
        body = undefined;
        headers.delete("content-type");
      }
    }
  }

  async #send(
    method: string,
    url: URL,
    headers: Headers,
    body: BodyInit | null | undefined,
  ): Promise<TestResponse> {
    const sent = new Headers(headers);
    const jar = await this.#cookieJar();
    const jarCookies = await jar.getCookieString(url.href);
    if (jarCookies) {
      const own = sent.get("cookie");
      sent.set("cookie", own ? `${own}; ${jarCookies}` : jarCookies);
    }
    const request = new globalThis.Request(url, {
      method,
      headers: sent,
      body: method === "GET" || method === "HEAD" ? undefined : body,
    });
    let done!: () => void;
    const completed = new Promise<void>((resolve) => done = resolve);
    const info: Deno.ServeHandlerInfo<Deno.NetAddr> & {
      [kOwnBodies]?: boolean;
    } = {
      remoteAddr: {
        transport: "tcp",
        hostname: this.#options.remoteAddr ?? "127.0.0.1",
        port: 50000,
      },
      completed,
      // The body is this request's own, as a served one is (its buffers are
      // released once the response is sent), unless it is the caller's
      // stream, whose chunks the caller may keep.
      [kOwnBodies]: !(body instanceof ReadableStream),
    };
    try {
      const response = await this.#fetch(request, info);
      let bytes = new Uint8Array(0);
      if (method === "HEAD") await response.body?.cancel();
      else bytes = new Uint8Array(await response.arrayBuffer());
      for (const cookie of response.headers.getSetCookie()) {
        await jar.setCookie(cookie, url.href, { ignoreError: true });
      }
      return new TestResponse(response, bytes, url.href);
    } finally {
      done();
    }
  }
}
