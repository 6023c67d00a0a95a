// Hostile input over a real socket: each case sends raw HTTP/1.1 bytes to a
// full app (typed routes, forms with small limits, redirects, cookies,
// sessions, static files) on 127.0.0.1, checks the exact status, checks
// that nothing secret leaks (the secret file, the error message, a stack),
// and checks that the server still answers a normal request afterwards.
import assert from "node:assert/strict";
import { Response } from "@pesto/pesto";
import { ERROR_MESSAGE, makeHostileApp, SECRET } from "./_hostile_app.ts";
import {
  multipartBody,
  rawRequest,
  type RawResponse,
  startServer,
} from "./_raw_http.ts";

type Parts = string | (string | Uint8Array)[];

interface Case {
  /** What is sent. */
  name: string;
  /** The bytes. */
  send: Parts;
  /** The exact status; 0 when the server closes without answering. */
  status: number;
  /** Further checks of the answer. */
  check?: (response: RawResponse) => void;
}

const enc = new TextEncoder();

function get(target: string, headers = "", host = "h.test"): string {
  return `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${headers}Connection: close\r\n\r\n`;
}

function post(
  target: string,
  type: string,
  body: string | Uint8Array,
  headers = "",
): (string | Uint8Array)[] {
  const bytes = typeof body === "string" ? enc.encode(body) : body;
  return [
    `POST ${target} HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${bytes.byteLength}\r\n${headers}\r\n`,
    bytes,
  ];
}

function chunked(target: string, type: string, body: string): string {
  let out =
    `POST ${target} HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`;
  for (let i = 0; i < body.length; i += 100) {
    const chunk = body.slice(i, i + 100);
    out += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
  }
  return out + "0\r\n\r\n";
}

const B = "hostile-boundary";
const MULTIPART = `multipart/form-data; boundary=${B}`;

function multipart(
  parts: Parameters<typeof multipartBody>[1],
): (string | Uint8Array)[] {
  return post("/form", MULTIPART, multipartBody(B, parts));
}

function rawMultipart(body: string, type = MULTIPART): (string | Uint8Array)[] {
  return post("/form", type, body);
}

function body(expected: string): (response: RawResponse) => void {
  return (response) => assert.equal(response.body, expected);
}

function json(expected: unknown): (response: RawResponse) => void {
  return (response) => assert.deepEqual(JSON.parse(response.body), expected);
}

function uploadedName(filename: string, expected: string): Case {
  return {
    name: `a file named ${JSON.stringify(filename)} is stored as ${
      JSON.stringify(expected)
    }`,
    send: multipart([{ name: "f", filename, content: "data" }]),
    status: 200,
    check: json({ f: [{ filename: expected, size: 4, text: "data" }] }),
  };
}

function noInjectedHeader(response: RawResponse): void {
  assert.equal(response.headers.get("x-injected"), null);
  for (const cookie of response.headers.getSetCookie()) {
    assert.doesNotMatch(cookie, /^evil=/);
  }
}

const NOT_FOUND = body(await Response.notFound().text());
const BAD_PATH = body("Malformed path: invalid UTF-8\n");
const BAD_ESCAPE = body("Malformed path: bad percent-escape\n");
const NUL = body("Malformed path: NUL byte\n");
const BAD_HOST = body("Malformed Host header\n");
const GENERIC_500 = body(await Response.internalServerError().text());
const long = "a".repeat(5000);

const CASES: Case[] = [
  // Controls: the routes answer normal requests.
  {
    name: "a typed route",
    send: get("/items/7"),
    status: 200,
    check: body("item 7"),
  },
  {
    name: "a static file",
    send: get("/static/public.txt"),
    status: 200,
    check: body("public file"),
  },
  {
    name: "a file in a subfolder",
    send: get("/static/sub/inner.txt"),
    status: 200,
    check: body("inner file"),
  },
  { name: "a folder without its slash", send: get("/static/sub"), status: 301 },
  { name: "a folder without an index", send: get("/static/sub/"), status: 404 },

  // Malformed Host.
  ...[
    "x/admin",
    "x?y",
    "x#y",
    "x:99999",
    "[:::]",
    "1.2.3.999",
    "a@b",
    "h.test:80:80",
    "[::1",
    "x:-1",
  ].map(
    (host): Case => ({
      name: `Host: ${host}`,
      send: get("/items/1", "", host),
      status: 400,
      check: BAD_HOST,
    }),
  ),
  {
    name: "two Host headers",
    send: get("/items/1", "Host: other.test\r\n"),
    status: 400,
  },
  {
    name: "an absolute target with userinfo",
    send: get("http://a@b/items/1"),
    status: 400,
    check: BAD_HOST,
  },
  {
    name: "an absolute target naming another host",
    send: get("http://other.test/items/1"),
    status: 200,
    check: body("item 1"),
  },

  // Traversal out of the static root.
  {
    name: "..",
    send: get("/static/../secret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "../..",
    send: get("/static/sub/../../secret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "%2e%2e",
    send: get("/static/%2e%2e/secret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "%2E%2e mixed case",
    send: get("/static/%2E%2e/%2e%2E/secret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "..%2f in one segment",
    send: get("/static/..%2fsecret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "%2e%2e%2f in one segment",
    send: get("/static/%2e%2e%2fsecret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "sub%2f..%2f..%2f",
    send: get("/static/sub%2f..%2f..%2fsecret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "..%5c",
    send: get("/static/..%5csecret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "sub%5c..%5c..%5c",
    send: get("/static/sub%5c..%5c..%5csecret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a raw backslash",
    send: get("/static/..\\secret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "raw backslashes",
    send: get("/static\\..\\..\\secret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "double encoding %252e%252e",
    send: get("/static/%252e%252e/secret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "double encoding %252f",
    send: get("/static/..%252fsecret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "overlong UTF-8 dot %c0%ae",
    send: get("/static/%c0%ae%c0%ae/secret.txt"),
    status: 400,
    check: BAD_PATH,
  },
  {
    name: "overlong UTF-8 slash %c0%af",
    send: get("/static/..%c0%afsecret.txt"),
    status: 400,
    check: BAD_PATH,
  },
  {
    name: "overlong UTF-8 %e0%80%af",
    send: get("/static/..%e0%80%afsecret.txt"),
    status: 400,
    check: BAD_PATH,
  },
  {
    name: "%00 before an extension",
    send: get("/static/public.txt%00.html"),
    status: 400,
    check: NUL,
  },
  { name: "%00 alone", send: get("/static/%00"), status: 400, check: NUL },
  {
    name: "an absolute path in a segment",
    send: get("/static/%2fetc%2fpasswd"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a doubled slash",
    send: get("/static//etc/passwd"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a drive letter",
    send: get("/static/C:%5cWindows%5cwin.ini"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a symlink out of the root",
    send: get("/static/link.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a file through a symlinked folder",
    send: get("/static/outside/secret.txt"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a dotfile",
    send: get("/static/.env"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a dotfile by %2e",
    send: get("/static/%2eenv"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a dotfile after ..",
    send: get("/static/sub/../.env"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a dotfile under a dot folder",
    send: get("/static/.git/config"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "an overlong name",
    send: get(`/static/${"a".repeat(300)}`),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "an overlong path",
    send: get(`/static/${"a/".repeat(2000)}x`),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a thousand ..",
    send: get(`/static/${"../".repeat(1000)}secret.txt`),
    status: 404,
    check: NOT_FOUND,
  },

  // Invalid escapes and UTF-8 in the path and the query.
  { name: "a lone %", send: get("/users/%"), status: 400, check: BAD_ESCAPE },
  { name: "%zz", send: get("/users/%zz"), status: 400, check: BAD_ESCAPE },
  { name: "%4", send: get("/users/a%4"), status: 400, check: BAD_ESCAPE },
  {
    name: "invalid UTF-8 %C3%28",
    send: get("/users/%C3%28"),
    status: 400,
    check: BAD_PATH,
  },
  {
    name: "a lone byte %FF",
    send: get("/users/%FF"),
    status: 400,
    check: BAD_PATH,
  },
  {
    name: "a surrogate %ED%A0%80",
    send: get("/users/%ED%A0%80"),
    status: 400,
    check: BAD_PATH,
  },
  {
    name: "a truncated sequence %E2%82",
    send: get("/users/%E2%82"),
    status: 400,
    check: BAD_PATH,
  },
  {
    name: "%00 in a route parameter",
    send: get("/users/a%00b"),
    status: 400,
    check: NUL,
  },
  {
    name: "a valid escape",
    send: get("/users/caf%C3%A9"),
    status: 200,
    check: body("user café"),
  },
  {
    name: "a bad escape in the query stays as it is (WHATWG)",
    send: get("/search?q=%zz&q=%"),
    status: 200,
    check: json(["%zz", "%"]),
  },
  {
    name: "invalid UTF-8 in the query",
    send: get("/search?q=%C3%28&q=%FF"),
    status: 200,
    check: json(["\uFFFD(", "\uFFFD"]),
  },
  {
    name: "%00 in the query",
    send: get("/search?q=a%00b"),
    status: 200,
    check: json(["a\0b"]),
  },
  {
    name: "a huge query",
    send: get(`/search?${"q=1&".repeat(1500)}`),
    status: 200,
  },
  {
    name: "an int too large to route",
    send: get("/items/99999999999999999999"),
    status: 404,
    check: NOT_FOUND,
  },
  {
    name: "a negative int",
    send: get("/items/-1"),
    status: 200,
    check: body("item -1"),
  },
  {
    name: "a wrong method",
    send:
      "DELETE /items/1 HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n",
    status: 405,
  },

  // CR/LF reaching a header: refused or encoded, never emitted.
  {
    name: "a redirect target with CRLF",
    send: get("/redirect?to=/x%0d%0aSet-Cookie:%20evil=1"),
    status: 500,
    check: GENERIC_500,
  },
  {
    name: "a redirect target with LF",
    send: get("/redirect?to=/x%0aX-Injected:%201"),
    status: 500,
    check: GENERIC_500,
  },
  {
    name: "a redirect target with CR",
    send: get("/redirect?to=/x%0dX-Injected:%201"),
    status: 500,
    check: GENERIC_500,
  },
  {
    name: "a redirect target with NUL",
    send: get("/redirect?to=/x%00y"),
    status: 500,
    check: GENERIC_500,
  },
  {
    name: "a protocol-relative redirect target stays on this host",
    send: get("/redirect?to=//evil.example/x"),
    status: 302,
    check: (r) =>
      assert.equal(r.headers.get("location"), "http://h.test/evil.example/x"),
  },
  {
    name: "a /\\ redirect target stays on this host",
    send: get("/redirect?to=/%5cevil.example/x"),
    status: 302,
    check: (r) =>
      assert.equal(r.headers.get("location"), "http://h.test/evil.example/x"),
  },
  {
    name: "a cookie value with CRLF is encoded",
    send: get("/cookie?v=a%0d%0aX-Injected:%201"),
    status: 200,
    check: (r) =>
      assert.deepEqual(r.headers.getSetCookie(), [
        "c=a%0D%0AX-Injected%3A%201",
      ]),
  },
  {
    name: "a cookie value with attributes is encoded",
    send: get("/cookie?v=x;%20Domain=evil.example"),
    status: 200,
    check: (r) =>
      assert.deepEqual(r.headers.getSetCookie(), [
        "c=x%3B%20Domain%3Devil.example",
      ]),
  },
  {
    name: "a header value with CRLF",
    send: get("/header?v=a%0d%0aX-Injected:%201"),
    status: 500,
    check: GENERIC_500,
  },
  {
    name: "a header value with NUL",
    send: get("/header?v=a%00b"),
    status: 500,
    check: GENERIC_500,
  },

  // Huge and duplicate headers (some answered by Deno itself).
  {
    name: "a 100 KB header",
    send: get("/items/1", `X-Big: ${"b".repeat(100_000)}\r\n`),
    status: 400,
  },
  {
    name: "a 1 MB header",
    send: get("/items/1", `X-Big: ${"b".repeat(1_000_000)}\r\n`),
    status: 400,
  },
  {
    name: "500 headers",
    send: get("/items/1", "X-H: v\r\n".repeat(500)),
    status: 400,
  },
  {
    name: "a 4 KB cookie header",
    send: get("/session", `Cookie: ${"k=v; ".repeat(800)}\r\n`),
    status: 200,
  },
  {
    name: "many Cookie headers",
    send: get("/session", "Cookie: pesto_session=nope\r\n".repeat(50)),
    status: 200,
    check: json({ visits: 1, name: null }),
  },
  {
    name: "a forged session id",
    send: get("/session", `Cookie: pesto_session=${"0".repeat(64)}\r\n`),
    status: 200,
    check: json({ visits: 1, name: null }),
  },
  {
    name: "a session id with junk",
    send: get("/session", `Cookie: pesto_session=../../${long}\r\n`),
    status: 200,
    check: json({ visits: 1, name: null }),
  },
  {
    name: "a header without a colon",
    send: get("/items/1", "NoColonHere\r\n"),
    status: 400,
  },
  {
    name: "a header name with a space",
    send: get("/items/1", "Bad Name: v\r\n"),
    status: 400,
  },
  {
    name: "a header folded over lines",
    send: get("/items/1", "X-A: one\r\n two\r\n"),
    status: 400,
  },
  { name: "a garbage request line", send: "GARBAGE\r\n\r\n", status: 400 },
  {
    name: "a bare LF request",
    send: "GET /items/1 HTTP/1.1\nHost: h.test\nConnection: close\n\n",
    status: 200,
  },
  {
    name: "an unknown HTTP version",
    send: "GET /items/1 HTTP/9.9\r\nHost: h.test\r\n\r\n",
    status: 400,
  },

  // Body limits.
  {
    name: "an urlencoded body over maxUrlencodedSize",
    send: post(
      "/form",
      "application/x-www-form-urlencoded",
      `a=${"x".repeat(600)}`,
    ),
    status: 413,
  },
  {
    name: "a chunked urlencoded body over maxUrlencodedSize",
    send: chunked(
      "/form",
      "application/x-www-form-urlencoded",
      `a=${"x".repeat(600)}`,
    ),
    status: 413,
  },
  {
    name: "a body over maxBodySize",
    send: post("/echo", "application/octet-stream", "x".repeat(3000)),
    status: 413,
  },
  {
    name: "a chunked body over maxBodySize",
    send: chunked("/echo", "application/octet-stream", "x".repeat(3000)),
    status: 413,
  },
  {
    name: "a declared length over maxBodySize, no body sent",
    send: [
      "POST /echo HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Length: 100000000\r\n\r\n",
    ],
    status: 413,
  },
  {
    name: "a multipart body over maxMultipartSize",
    send: multipart([
      { name: "g", filename: "g.bin", content: "y".repeat(900) },
      { name: "h", filename: "h.bin", content: "z".repeat(900) },
      { name: "i", content: "w".repeat(99) },
      { name: "j", content: "v".repeat(99) },
    ]),
    status: 413,
  },
  {
    name: "a field over maxFieldSize",
    send: multipart([{ name: "a", content: "x".repeat(101) }]),
    status: 413,
  },
  {
    name: "too many parts",
    send: multipart(
      Array.from({ length: 7 }, (_, i) => ({ name: `p${i}`, content: "v" })),
    ),
    status: 413,
  },
  {
    name: "too many files",
    send: multipart(
      Array.from(
        { length: 3 },
        (_, i) => ({ name: "f", filename: `${i}.txt`, content: "v" }),
      ),
    ),
    status: 413,
  },
  {
    name: "a file over maxFileSize",
    send: multipart([{
      name: "f",
      filename: "big.bin",
      content: "x".repeat(1001),
    }]),
    status: 413,
  },
  {
    name: "a part header over maxPartHeaderSize",
    send: rawMultipart(
      `--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${
        "p".repeat(400)
      }\r\n\r\nv\r\n--${B}--\r\n`,
    ),
    status: 413,
  },
  {
    name: "a body within every limit",
    send: multipart([{ name: "a", content: "1" }, {
      name: "f",
      filename: "f.txt",
      content: "x".repeat(500),
    }]),
    status: 200,
  },

  // Malformed multipart.
  {
    name: "multipart without a boundary",
    send: rawMultipart(`--${B}--\r\n`, "multipart/form-data"),
    status: 400,
  },
  {
    name: "multipart with an empty boundary",
    send: rawMultipart(`----\r\n`, 'multipart/form-data; boundary=""'),
    status: 400,
  },
  {
    name: "multipart with a 100-character boundary is an empty form",
    send: rawMultipart(
      `--${"b".repeat(100)}--\r\n`,
      `multipart/form-data; boundary=${"b".repeat(100)}`,
    ),
    status: 200,
    check: json({}),
  },
  {
    name: "multipart without its closing boundary",
    send: rawMultipart(
      `--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue`,
    ),
    status: 400,
  },
  {
    name: "multipart whose boundary never appears",
    send: rawMultipart("just some text\r\n"),
    status: 400,
  },
  {
    name: "a part without Content-Disposition",
    send: rawMultipart(
      `--${B}\r\nContent-Type: text/plain\r\n\r\nv\r\n--${B}--\r\n`,
    ),
    status: 400,
  },
  {
    name: "a part without a name",
    send: rawMultipart(
      `--${B}\r\nContent-Disposition: form-data\r\n\r\nv\r\n--${B}--\r\n`,
    ),
    status: 400,
  },
  {
    name: "a part header without a colon",
    send: rawMultipart(`--${B}\r\nbroken header\r\n\r\nv\r\n--${B}--\r\n`),
    status: 400,
  },
  {
    name: "a part whose headers never end",
    send: rawMultipart(
      `--${B}\r\nContent-Disposition: form-data; name="a"\r\n`,
    ),
    status: 400,
  },
  { name: "an empty multipart body", send: rawMultipart(""), status: 400 },

  // File names with path components keep their base name only.
  uploadedName("../../etc/passwd", "passwd"),
  uploadedName("C:\\Windows\\win.ini", "win.ini"),
  uploadedName("/abs/path/x.txt", "x.txt"),
  uploadedName("..", ""),
  uploadedName("sub\\..\\..\\y.txt", "y.txt"),

  // Content-Length lies.
  {
    name: "a Content-Length longer than the body",
    send: [
      "POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\na=1",
    ],
    status: 408,
  },
  {
    name: "a Content-Length shorter than the body",
    send: [
      "POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=1&b=2&c=3",
    ],
    status: 200,
    check: json({ a: ["1"] }),
  },
  {
    name: "two different Content-Lengths",
    send: [
      "POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\na=1&b",
    ],
    status: 400,
  },
  {
    name: "a negative Content-Length",
    send: [
      "POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Length: -1\r\n\r\n",
    ],
    status: 400,
  },
  {
    name: "a Content-Length that is not a number",
    send: [
      "POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Length: 1e3\r\n\r\n",
    ],
    status: 400,
  },
  {
    name: "a Content-Length over 2^64",
    send: [
      "POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    ],
    status: 400,
  },
  {
    name: "Content-Length with chunked",
    send: [
      "POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na=1\r\n0\r\n\r\n",
    ],
    status: 400,
  },
  {
    name: "a malformed chunk size",
    send: [
      "POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\na=1\r\n0\r\n\r\n",
    ],
    status: 0,
  },

  // A handler that throws.
  {
    name: "a throwing handler",
    send: get("/throw"),
    status: 500,
    check: GENERIC_500,
  },
  {
    name: "HEAD of a throwing handler",
    send: "HEAD /throw HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n",
    status: 500,
  },
];

const STACK = /\bat \S+ \(|\.ts:\d+:\d+|file:\/\//;

Deno.test("DispatcherApp over Deno.serve answers hostile input exactly and leaks nothing", async (t) => {
  const fixture = await makeHostileApp();
  const server = startServer(fixture.fetch);
  try {
    assert.ok(CASES.length >= 80, `${CASES.length} cases`);
    for (const c of CASES) {
      await t.step(`${c.name} → ${c.status || "closed"}`, async () => {
        const response = await rawRequest(server.port, c.send, {
          timeout: 5000,
        });
        assert.equal(response.status, c.status, response.body.slice(0, 200));
        c.check?.(response);
        const everything = [...response.headers].flat().join("\n") + "\n" +
          response.body;
        assert.ok(!everything.includes(SECRET), "the secret leaked");
        assert.ok(!everything.includes(ERROR_MESSAGE), "the error leaked");
        assert.doesNotMatch(everything, STACK);
        noInjectedHeader(response);
        const after = await rawRequest(server.port, get("/items/1"));
        assert.equal(after.status, 200);
        assert.equal(after.body, "item 1");
      });
    }
  } finally {
    await server.close();
    await fixture.cleanup();
  }
  // The errors behind the 500s reached onError, not the client.
  assert.ok(
    fixture.errors.some((e) =>
      e instanceof Error && e.message === ERROR_MESSAGE
    ),
  );
});
