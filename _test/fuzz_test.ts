// Property-based fuzzing of every parser: for arbitrary input each returns a
// value or raises the library's own error class (never a TypeError, a hang
// or an unbounded allocation), and round trips hold where they apply.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compose,
  conditional,
  Cookie,
  DispatcherApp,
  makeEtag,
  makeQuery,
  MultiDict,
  parseCookieHeader,
  parseQuery,
  PayloadTooLarge,
  Request,
  RequestParseError,
  Response,
  serveFile,
  signCookieValue,
  toHandler,
  verifyCookieValue,
} from "@pesto/pesto";
import { canonicalPath, parseTarget } from "../_http/path.ts";
import { multipartBody } from "./_raw_http.ts";

Deno.test("canonicalPath() and DispatcherApp.match() refuse a lone surrogate with their own errors", () => {
  assert.throws(
    () => canonicalPath("/a/\udc00"),
    (e) =>
      e instanceof RequestParseError &&
      e.message === "Malformed path: invalid UTF-8",
  );
  assert.throws(
    () => new DispatcherApp().match("/x\ud800", "GET", () => new Response("")),
    SyntaxError,
  );
});

Deno.test("conditional() matches an entity tag that holds a comma", async () => {
  const fetch = compose(conditional())(() =>
    Promise.resolve(new Response("data", { headers: { ETag: '"a,b"' } }))
  );
  for (const header of ['"a,b"', '"x", "a,b"', 'W/"a,b" , "y"']) {
    const response = await fetch(
      new globalThis.Request("http://x.test/", {
        headers: { "If-None-Match": header },
      }),
    );
    assert.equal(response.status, 304, header);
  }
  const other = await fetch(
    new globalThis.Request("http://x.test/", {
      headers: { "If-None-Match": '"a", "b"' },
    }),
  );
  assert.equal(other.status, 200);
  await other.body?.cancel();
});

const enc = new TextEncoder();

/** Any UTF-16 text, lone surrogates included. */
const anyText = (maxLength = 60) =>
  fc.string({
    unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)),
    maxLength,
  });

/** Printable ASCII, which a header value may hold. */
const headerText = (maxLength = 60) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) =>
      String.fromCharCode(c)
    ),
    maxLength,
  });

/** Text built from the given fragments and arbitrary text between them. */
const fragments = (pieces: string[], maxLength = 20) =>
  fc.array(fc.oneof(fc.constantFrom(...pieces), anyText(6)), { maxLength })
    .map((parts) => parts.join(""));

function isOwnError(
  error: unknown,
  ...classes: (new (...a: never[]) => Error)[]
) {
  return classes.some((c) => error instanceof c);
}

Deno.test("DispatcherApp.match() on arbitrary patterns returns a route or throws SyntaxError/TypeError", async (t) => {
  const pieces = [
    "/",
    "<",
    ">",
    ":",
    "int",
    "float",
    "path",
    "unicode",
    "uuid",
    "any",
    "(",
    ")",
    "'",
    '"',
    ",",
    "=",
    "\\",
    ".",
    "*",
    "a",
    "id",
    "x",
    "<id:int>",
    "<p:path>",
    "<a>",
    "any('a', 'b')",
    "%",
    "%2F",
    "//",
    "{",
    "}",
    "[",
    "]",
  ];
  await t.step(
    "no other error, and a route answers requests without a 500",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fragments(pieces),
          fragments(["/", "a", "1", "-2", "x.y", "%2F", "..", "%", "é"], 8),
          async (pattern, path) => {
            const app = new DispatcherApp({ onError() {} });
            try {
              app.match(pattern, "GET", () => new Response("ok"));
            } catch (error) {
              assert.ok(
                error instanceof SyntaxError || error instanceof TypeError,
                `${pattern}: ${error}`,
              );
              return;
            }
            let target: URL;
            try {
              target = new URL(
                path.startsWith("/") ? path : "/" + path,
                "http://x.test",
              );
            } catch {
              return;
            }
            const response = await app.fetch(new globalThis.Request(target));
            assert.ok(
              [200, 400, 404].includes(response.status),
              `${pattern} ${path}: ${response.status}`,
            );
          },
        ),
        { numRuns: 3000, timeout: 2000 },
      );
    },
  );
});

Deno.test("canonicalPath() and parseTarget() on arbitrary raw paths return a path or throw RequestParseError", async (t) => {
  const raw = fragments([
    "/",
    "\\",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2f",
    "%5c",
    "%00",
    "%",
    "%C3%A9",
    "%C3",
    "%FF",
    "%ED%A0%80",
    "a",
    "\0",
  ], 16);
  await t.step("a canonical path is a fixed point with no dot segments", () => {
    fc.assert(
      fc.property(raw, (tail) => {
        let result;
        try {
          result = canonicalPath("/" + tail);
        } catch (error) {
          assert.ok(error instanceof RequestParseError, String(error));
          assert.equal(error.status, 400);
          return;
        }
        assert.ok(result.path.startsWith("/"));
        assert.ok(!result.path.includes("\\"), result.path);
        for (const segment of result.path.split("/")) {
          assert.ok(segment !== "." && segment !== "..", result.path);
        }
        for (const segment of result.segments ?? []) {
          assert.ok(!segment.includes("\0"));
          assert.ok(segment !== "." && segment !== "..");
        }
        assert.equal(canonicalPath(result.path).path, result.path);
      }),
      { numRuns: 6000, timeout: 2000 },
    );
  });
  await t.step("arbitrary Host values are valid or a RequestParseError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          headerText(30),
          fragments([
            "[",
            "]",
            ":",
            "::1",
            ".",
            "80",
            "@",
            "/",
            "%",
            "1.2.3.4",
            "é",
          ], 8),
        ),
        (host) => {
          try {
            const target = parseTarget("http://h.test/", host);
            assert.equal(target.path, "/");
          } catch (error) {
            assert.ok(error instanceof RequestParseError, String(error));
          }
        },
      ),
      { numRuns: 4000, timeout: 2000 },
    );
  });
  await t.step(
    "requests with arbitrary paths are answered, never with a 500",
    async () => {
      const fetch = toHandler((request) => new Response(request.pathInfo), {
        onError() {},
      });
      await fc.assert(
        fc.asyncProperty(raw, async (tail) => {
          let url: URL;
          try {
            url = new URL("http://x.test/" + tail);
          } catch {
            return;
          }
          const response = await fetch(new globalThis.Request(url));
          assert.ok(
            response.status === 200 || response.status === 400,
            `${tail}: ${response.status}`,
          );
          await response.body?.cancel();
        }),
        { numRuns: 2000, timeout: 2000 },
      );
    },
  );
});

Deno.test("parseQuery() never throws, and makeQuery() round-trips through it", async (t) => {
  await t.step("arbitrary text and bytes", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText(200),
          fragments([
            "&",
            "=",
            "+",
            "%",
            "%2",
            "%zz",
            "%C3%A9",
            "%FF",
            ";",
            "a",
          ]),
        ),
        fc.uint8Array({ maxLength: 200 }),
        (text, bytes) => {
          assert.ok(parseQuery(text) instanceof MultiDict);
          assert.ok(parseQuery(bytes) instanceof MultiDict);
          assert.ok(parseQuery(text, "latin1") instanceof MultiDict);
        },
      ),
      { numRuns: 4000, timeout: 2000 },
    );
  });
  await t.step(
    "pairs of any text come back in order, lone surrogates as U+FFFD",
    () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(anyText(20), anyText(20)), { maxLength: 10 }),
          (pairs) => {
            const back = [...parseQuery(makeQuery(pairs))];
            const expected = pairs
              .map(([k, v]) => [k.toWellFormed(), v.toWellFormed()]);
            assert.deepEqual(back, expected);
          },
        ),
        { numRuns: 4000, timeout: 2000 },
      );
    },
  );
  await t.step("urlencoded bodies through request.form()", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const request = new Request(
          new globalThis.Request("http://x.test/", {
            method: "POST",
            body: bytes,
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
          }),
          { limits: { maxUrlencodedSize: 200 } },
        );
        try {
          assert.ok((await request.form()) instanceof MultiDict);
          assert.ok(bytes.byteLength <= 200);
        } catch (error) {
          assert.ok(error instanceof PayloadTooLarge, String(error));
          assert.ok(bytes.byteLength > 200);
        }
      }),
      { numRuns: 1000, timeout: 2000 },
    );
  });
});

Deno.test("parseCookieHeader() never throws, and Cookie round-trips through it", async (t) => {
  await t.step("arbitrary Cookie headers", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText(200),
          fragments([
            ";",
            "=",
            '"',
            " ",
            "%",
            "%E2%82%AC",
            "%FF",
            "$",
            "a",
            "b=1",
          ]),
        ),
        (header) => {
          const jar = parseCookieHeader(header);
          for (const [name] of jar) {
            assert.notEqual(name, "");
            assert.ok(!name.includes(";"));
          }
        },
      ),
      { numRuns: 6000, timeout: 2000 },
    );
  });
  const token = fc.string({
    unit: fc.constantFrom(
      ..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    ),
    minLength: 1,
    maxLength: 20,
  }).filter((name) => !/^(__host-|__secure-)/i.test(name));
  await t.step("a cookie's value comes back as it was", () => {
    fc.assert(
      fc.property(
        token,
        fc.string({ unit: "grapheme", maxLength: 60 }),
        (name, value) => {
          const header = new Cookie(name, value, { path: "/", httpOnly: true })
            .toString();
          const pair = header.split("; ")[0];
          assert.equal(parseCookieHeader(pair).get(name), value);
          assert.equal(
            parseCookieHeader(`other=1; ${pair}; x=2`).get(name),
            value,
          );
        },
      ),
      { numRuns: 4000, timeout: 2000 },
    );
  });
  await t.step("a value sent as raw UTF-8 bytes comes back as it was", () => {
    // What Deno.serve hands over for a browser's raw bytes: a char a byte.
    const asBytes = (text: string) =>
      String.fromCharCode(...new TextEncoder().encode(text));
    fc.assert(
      fc.property(
        token.filter((name) => name !== "other" && name !== "x"),
        fc.string({ unit: "grapheme", maxLength: 40 }).filter((value) =>
          !/[;%"]|^[ \t]|[ \t]$/.test(value)
        ),
        (name, value) => {
          const header = `other=1; ${name}=${asBytes(value)}; x=\u00ff`;
          assert.equal(parseCookieHeader(header).get(name), value);
          assert.equal(parseCookieHeader(header).get("x"), "\u00ff");
        },
      ),
      { numRuns: 4000, timeout: 2000 },
    );
  });
  await t.step(
    "signed values verify, and arbitrary ones are refused without throwing",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: "grapheme", maxLength: 40 }),
          anyText(80),
          async (value, forged) => {
            const signed = await signCookieValue(value, "secret key");
            assert.equal(await verifyCookieValue(signed, "secret key"), value);
            assert.equal(
              await verifyCookieValue(signed, "other key"),
              undefined,
            );
            const checked = await verifyCookieValue(forged, "secret key");
            assert.ok(checked === undefined || typeof checked === "string");
          },
        ),
        { numRuns: 600, timeout: 2000 },
      );
    },
  );
});

const LIMITS = {
  maxMultipartSize: 4096,
  maxParts: 8,
  maxFiles: 3,
  maxFileSize: 600,
  maxFieldSize: 300,
  maxFileMemorySize: 4096,
  maxPartHeaderSize: 300,
  bodyTimeout: 5000,
};

/** A stream handing `bytes` over in the given chunk sizes. */
function split(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      const size = Math.max(1, sizes[i++ % Math.max(1, sizes.length)] ?? 64);
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

function multipartRequest(
  type: string,
  body: Uint8Array,
  sizes: number[] = [],
): Request {
  return new Request(
    new globalThis.Request("http://x.test/", {
      method: "POST",
      body: split(body, sizes),
      headers: { "Content-Type": type },
    }),
    { limits: LIMITS },
  );
}

Deno.test("request.form() on arbitrary multipart bodies returns a form or a RequestParseError/PayloadTooLarge", async (t) => {
  const boundary = fc.oneof(
    fc.constant("b"),
    fc.constant("----WebKitFormBoundary7MA4YWxk"),
    headerText(80).filter((b) => !b.includes(";") && !b.includes('"')),
  );
  await t.step("bodies made of multipart fragments", async () => {
    await fc.assert(
      fc.asyncProperty(
        boundary,
        fc.array(fc.nat(200), { maxLength: 5 }),
        fc.array(
          fc.oneof(
            fc.constantFrom(
              "--",
              "\r\n",
              "\r\n\r\n",
              "\n",
              "--B",
              "--B\r\n",
              "--B--",
              "--B--\r\n",
              'Content-Disposition: form-data; name="a"',
              'Content-Disposition: form-data; name="f"; filename="../x.txt"',
              "Content-Disposition: form-data; name*=UTF-8''%FF",
              "Content-Type: text/plain; charset=latin1",
              "Content-Disposition: attachment",
              "X: " + "h".repeat(400),
              "v".repeat(700),
            ),
            anyText(10),
          ),
          { maxLength: 30 },
        ),
        async (b, sizes, pieces) => {
          const body = enc.encode(pieces.join("").replaceAll("B", b));
          const request = multipartRequest(
            `multipart/form-data; boundary="${b}"`,
            body,
            sizes,
          );
          try {
            const form = await request.form();
            assert.ok(form instanceof MultiDict);
            assert.ok(form.size <= LIMITS.maxParts);
          } catch (error) {
            assert.ok(
              isOwnError(error, RequestParseError, PayloadTooLarge),
              String(error),
            );
          }
        },
      ),
      { numRuns: 3000, timeout: 2000 },
    );
  });
  await t.step("random bytes and random content types", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constant("multipart/form-data"),
          headerText(60).map((s) => `multipart/form-data; ${s}`),
          boundary.map((b) => `multipart/form-data; boundary=${b}`),
        ),
        fc.uint8Array({ maxLength: 5000 }),
        async (type, bytes) => {
          try {
            assert.ok(
              (await multipartRequest(type, bytes).form()) instanceof MultiDict,
            );
          } catch (error) {
            assert.ok(
              isOwnError(error, RequestParseError, PayloadTooLarge),
              String(error),
            );
          }
        },
      ),
      { numRuns: 1000, timeout: 2000 },
    );
  });
  await t.step(
    "well-formed forms come back whole, however the body is split",
    async () => {
      const name = fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 })
        .filter((n) => !/["\r\n\\%]/.test(n));
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              name,
              value: fc.string({ unit: "grapheme", maxLength: 60 }),
              file: fc.boolean(),
            }),
            { maxLength: 3 },
          ),
          fc.array(fc.integer({ min: 1, max: 100 }), {
            minLength: 1,
            maxLength: 5,
          }),
          async (fields, sizes) => {
            const b = "fuzz-3c0bd1a4e9f2";
            const body = multipartBody(
              b,
              fields.map((f) => ({
                name: f.name,
                content: f.value,
                ...(f.file ? { filename: "up.txt" } : {}),
              })),
            );
            const form = await multipartRequest(
              `multipart/form-data; boundary=${b}`,
              body,
              sizes,
            ).form();
            const back = [];
            for (const [key, value] of form) {
              back.push({
                name: key,
                value: typeof value === "string" ? value : await value.text(),
                file: typeof value !== "string",
              });
            }
            assert.deepEqual(back, fields.map((f) => ({ ...f })));
          },
        ),
        { numRuns: 1000, timeout: 2000 },
      );
    },
  );
});

Deno.test("serveFile() and conditional() on arbitrary Range and entity-tag headers", async (t) => {
  const path = await Deno.makeTempFile({ prefix: "pesto-fuzz-" });
  const content = new Uint8Array(100).map((_, i) => i);
  await Deno.writeFile(path, content);
  try {
    const range = fc.oneof(
      headerText(40),
      fc.array(
        fc.tuple(fc.option(fc.nat(150)), fc.option(fc.nat(150))).map(([a, b]) =>
          `${a ?? ""}-${b ?? ""}`
        ),
        { minLength: 1, maxLength: 4 },
      ).map((list) => `bytes=${list.join(",")}`),
      fragments([
        "bytes=",
        "-",
        ",",
        "0",
        "99",
        "100",
        "9999999999999999999999",
        " ",
        "items=",
      ], 8)
        .filter((s) => /^[\x20-\x7e]*$/.test(s)),
    );
    const tags = fragments(['"', "W/", ",", "*", " ", "a", '"x"', 'W/"x"'], 8)
      .filter((s) => /^[\x20-\x7e]*$/.test(s));
    /** One range's `Content-Range` and bytes, against the file. */
    const assertPart = (contentRange: string | null, body: Uint8Array) => {
      const match = /^bytes (\d+)-(\d+)\/100$/.exec(contentRange ?? "");
      assert.ok(match, contentRange ?? "none");
      const [start, end] = [Number(match[1]), Number(match[2])];
      assert.ok(start <= end && end < 100);
      assert.deepEqual(body, content.slice(start, end + 1));
    };
    /** The parts of a multipart/byteranges body: Content-Range and bytes. */
    const partsOf = (body: Uint8Array, boundary: string) => {
      // One char per byte (TextDecoder's "latin1" is windows-1252).
      const text = Array.from(body, (b) => String.fromCharCode(b)).join("");
      const parts: { range: string | null; body: Uint8Array }[] = [];
      for (const chunk of text.split(`--${boundary}`).slice(1)) {
        if (chunk.startsWith("--")) break;
        const head = chunk.indexOf("\r\n\r\n");
        const range = /content-range: *([^\r]+)/i.exec(chunk.slice(0, head))
          ?.[1] ?? null;
        const data = chunk.slice(head + 4, chunk.length - 2); // CRLF before --
        parts.push({
          range,
          body: Uint8Array.from(data, (c) => c.charCodeAt(0)),
        });
      }
      return parts;
    };
    await t.step(
      "a Range is answered 200, 206 with the right bytes, or 416",
      async () => {
        await fc.assert(
          fc.asyncProperty(range, fc.option(tags), async (header, ifRange) => {
            const headers: Record<string, string> = { Range: header };
            if (ifRange !== null) headers["If-Range"] = ifRange;
            const response = await serveFile(
              new Request(
                new globalThis.Request("http://x.test/f", { headers }),
              ),
              path,
            );
            const bytes = new Uint8Array(await response.arrayBuffer());
            if (response.status === 200) {
              assert.deepEqual(bytes, content);
            } else if (response.status === 206) {
              const type = response.headers.get("content-type") ?? "";
              const boundary = /^multipart\/byteranges; boundary=(\S+)$/
                .exec(type)?.[1];
              if (boundary === undefined) {
                assertPart(response.headers.get("content-range"), bytes);
              } else {
                // Several satisfiable ranges: each part its range's bytes.
                const parts = partsOf(bytes, boundary);
                assert.ok(parts.length >= 2, header);
                for (const part of parts) assertPart(part.range, part.body);
              }
            } else {
              assert.equal(response.status, 416, header);
              assert.equal(
                response.headers.get("content-range"),
                "bytes */100",
              );
            }
          }),
          { numRuns: 3000, timeout: 2000 },
        );
      },
    );
    await t.step("preconditions are answered 200, 304 or 412", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.option(tags),
          fc.option(tags),
          fc.option(headerText(40)),
          async (none, match, since) => {
            const headers: Record<string, string> = {};
            if (none !== null) headers["If-None-Match"] = none;
            if (match !== null) headers["If-Match"] = match;
            if (since !== null) headers["If-Modified-Since"] = since;
            const response = await serveFile(
              new Request(
                new globalThis.Request("http://x.test/f", { headers }),
              ),
              path,
            );
            await response.body?.cancel();
            assert.ok(
              [200, 304, 412].includes(response.status),
              String(response.status),
            );
          },
        ),
        { numRuns: 2000, timeout: 2000 },
      );
    });
    await t.step(
      "conditional(): any ETag and If-None-Match, and makeEtag() tags match themselves",
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.jsonValue({ maxDepth: 2 }),
            tags,
            tags,
            async (value, etag, ifNoneMatch) => {
              const made = await makeEtag(value);
              assert.match(made, /^"[\x21\x23-\x7e]+"$/);
              for (
                const [tag, header] of [[etag, ifNoneMatch], [
                  made,
                  `"zz", ${made}`,
                ]]
              ) {
                const fetch = compose(conditional())(() =>
                  Promise.resolve(
                    new Response("data", { headers: { ETag: tag } }),
                  )
                );
                const response = await fetch(
                  new globalThis.Request("http://x.test/", {
                    headers: { "If-None-Match": header },
                  }),
                );
                await response.body?.cancel();
                assert.ok([200, 304].includes(response.status));
                if (tag === made) assert.equal(response.status, 304);
              }
            },
          ),
          { numRuns: 1000, timeout: 2000 },
        );
      },
    );
  } finally {
    await Deno.remove(path);
  }
});
