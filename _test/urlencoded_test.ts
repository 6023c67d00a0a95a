// Query strings and urlencoded bodies against the WHATWG
// application/x-www-form-urlencoded parser: the expectations of the
// web-platform-tests (url/urlencoded-parser.any.js), written out here since
// the tests cannot fetch them, then the same parser as the runtime
// implements it (URLSearchParams, and formData() of a fetch body) as an
// oracle, for text, for bodies of arbitrary bytes, and over a real socket.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DispatcherApp,
  MultiDict,
  parseQuery,
  Request,
  Response,
} from "@pesto/pesto";
import { multipartBody, rawRequest, startServer } from "./_raw_http.ts";

type Pairs = [string, string][];

const URLENCODED = { "content-type": "application/x-www-form-urlencoded" };

// The cases of WPT url/urlencoded-parser.any.js.
const WPT: [string, Pairs][] = [
  ["test", [["test", ""]]],
  ["\uFEFFtest=\uFEFF", [["\uFEFFtest", "\uFEFF"]]],
  ["%EF%BB%BFtest=%EF%BB%BF", [["\uFEFFtest", "\uFEFF"]]],
  ["%EF%BF%BF=%EF%BF%BF", [["\uFFFF", "\uFFFF"]]],
  ["%FE%FF", [["\uFFFD\uFFFD", ""]]],
  ["%FF%FE", [["\uFFFD\uFFFD", ""]]],
  ["\u2020&\u2020=x", [["\u2020", ""], ["\u2020", "x"]]],
  ["%C2", [["\uFFFD", ""]]],
  ["%C2x", [["\uFFFDx", ""]]],
  [
    "_charset_=windows-1252&test=%C2x",
    [["_charset_", "windows-1252"], ["test", "\uFFFDx"]],
  ],
  ["", []],
  ["a", [["a", ""]]],
  ["a=b", [["a", "b"]]],
  ["a=", [["a", ""]]],
  ["=b", [["", "b"]]],
  ["&", []],
  ["&a", [["a", ""]]],
  ["a&", [["a", ""]]],
  ["a&a", [["a", ""], ["a", ""]]],
  ["a&b&c", [["a", ""], ["b", ""], ["c", ""]]],
  ["a=b&c=d", [["a", "b"], ["c", "d"]]],
  ["a=b&c=d&", [["a", "b"], ["c", "d"]]],
  ["&&&a=b&&&&c=d&", [["a", "b"], ["c", "d"]]],
  ["a=a&a=b&a=c", [["a", "a"], ["a", "b"], ["a", "c"]]],
  ["a==a", [["a", "=a"]]],
  ["a=a+b+c+d", [["a", "a b c d"]]],
  ["%=a", [["%", "a"]]],
  ["%a=a", [["%a", "a"]]],
  ["%a_=a", [["%a_", "a"]]],
  ["%61=a", [["a", "a"]]],
  ["%61+%4d%4D=", [["a MM", ""]]],
  ["id=0&value=%", [["id", "0"], ["value", "%"]]],
  ["b=%2sf%2a", [["b", "%2sf*"]]],
  ["b=%2%2af%2a", [["b", "%2*f*"]]],
  ["b=%%2a", [["b", "%*"]]],
];

// More of the same parser: bad escapes, invalid UTF-8, `+`, `;`.
const MORE: [string, Pairs][] = [
  ["a=b%zzc", [["a", "b%zzc"]]],
  ["%fe%ff", [["\uFFFD\uFFFD", ""]]],
  ["a&b", [["a", ""], ["b", ""]]],
  ["a=&b=", [["a", ""], ["b", ""]]],
  ["&&a=1&&", [["a", "1"]]],
  ["+", [[" ", ""]]],
  ["a+b=c+d", [["a b", "c d"]]],
  ["%2B", [["+", ""]]],
  ["a=%2B+%2b", [["a", "+ +"]]],
  ["q=100%", [["q", "100%"]]],
  ["q=100%25", [["q", "100%"]]],
  ["%zz=%zz", [["%zz", "%zz"]]],
  ["a=%4&b=%4g&c=%g4", [["a", "%4"], ["b", "%4g"], ["c", "%g4"]]],
  ["a=%ff", [["a", "\uFFFD"]]],
  ["a=%C3%28", [["a", "\uFFFD("]]],
  ["a=%C3%A9%zz%C3", [["a", "\u00e9%zz\uFFFD"]]],
  ["a=%C3%", [["a", "\uFFFD%"]]],
  ["a=%ED%A0%80", [["a", "\uFFFD\uFFFD\uFFFD"]]],
  ["a=%C0%AF", [["a", "\uFFFD\uFFFD"]]],
  ["a=%F0%9F%98%80&b=%F0%9F", [["a", "\u{1F600}"], ["b", "\uFFFD"]]],
  ["a=%00", [["a", "\0"]]],
  ["a=1;b=2", [["a", "1;b=2"]]],
  ["caf\u00e9=th\u00e9%20vert", [["caf\u00e9", "th\u00e9 vert"]]],
  ["\u00e9%A9=x", [["\u00e9\uFFFD", "x"]]],
  ["a=%C3\u00a9", [["a", "\uFFFD\u00a9"]]],
  ["x=\uD800&\uDC00y", [["x", "\uFFFD"], ["\uFFFDy", ""]]],
];

/**
 * The standard's parser as the runtime implements it. `URLSearchParams`
 * also drops one leading `?`, which `parseQuery` (given the text after it)
 * does not: a leading `&` keeps it, and is itself an empty pair.
 */
function whatwg(text: string): Pairs {
  return [...new URLSearchParams(text.startsWith("?") ? "&" + text : text)];
}

function pesto(raw: globalThis.Request): Request {
  return new Request(raw);
}

function postRequest(body: string | Uint8Array): globalThis.Request {
  return new globalThis.Request("http://x.test/", {
    method: "POST",
    body: body as BodyInit,
    headers: URLENCODED,
  });
}

/** What formData() of a fetch body reads: the standard parser on bytes. */
async function fetchForm(body: string | Uint8Array): Promise<Pairs> {
  const form = await postRequest(body).formData();
  return [...form].map(([k, v]) => [k, v as string]);
}

async function pestoForm(body: string | Uint8Array): Promise<Pairs> {
  return [...await pesto(postRequest(body)).form()] as Pairs;
}

Deno.test("parseQuery() gives what the WPT urlencoded parser data expects", async (t) => {
  for (const [input, expected] of [...WPT, ...MORE]) {
    await t.step(JSON.stringify(input), () => {
      assert.deepEqual([...parseQuery(input)], expected);
      assert.deepEqual(whatwg(input), expected, "URLSearchParams agrees");
    });
  }
});

Deno.test("Request.query follows the WHATWG parser, as web URLs do", async (t) => {
  for (const [input, expected] of [...WPT, ...MORE]) {
    await t.step(JSON.stringify(input), () => {
      const url = `http://x.test/path?${input}`;
      const query = pesto(new globalThis.Request(url)).query;
      assert.deepEqual([...query], expected);
      assert.deepEqual([...new URL(url).searchParams], expected);
    });
  }
});

Deno.test("Request.form() reads urlencoded bodies as the WHATWG parser does", async (t) => {
  for (const [input, expected] of [...WPT, ...MORE]) {
    await t.step(JSON.stringify(input), async () => {
      assert.deepEqual(await pestoForm(input), expected);
      assert.deepEqual(await fetchForm(input), expected, "formData() agrees");
    });
  }
});

const bytes = (...parts: (string | number[])[]): Uint8Array<ArrayBuffer> =>
  new Uint8Array(
    parts.flatMap((p) =>
      typeof p === "string" ? [...new TextEncoder().encode(p)] : p
    ),
  );

// Bodies of raw bytes: literal and escaped bytes of a name or value are
// decoded together; a byte-order mark is part of the first name.
const BYTE_BODIES: [string, Uint8Array, Pairs][] = [
  ["a BOM", bytes([0xef, 0xbb, 0xbf], "a=1"), [["\uFEFFa", "1"]]],
  [
    "a BOM after &",
    bytes("a=1&", [0xef, 0xbb, 0xbf], "b=2"),
    [["a", "1"], ["\uFEFFb", "2"]],
  ],
  ["an escaped BOM", bytes("%EF%BB%BFa=1"), [["\uFEFFa", "1"]]],
  ["a BOM alone", bytes([0xef, 0xbb, 0xbf]), [["\uFEFF", ""]]],
  ["a literal 0xFF", bytes("a=", [0xff]), [["a", "\uFFFD"]]],
  ["an escaped 0xFF", bytes("a=%FF"), [["a", "\uFFFD"]]],
  [
    "literal and escaped invalid bytes",
    bytes("a=", [0xff], "%FF&", [0xfe], "=%zz", [0xc3]),
    [["a", "\uFFFD\uFFFD"], ["\uFFFD", "%zz\uFFFD"]],
  ],
  ["an escape then a literal byte", bytes("a=%C3", [0xa9]), [["a", "\u00e9"]]],
  ["a literal then an escaped byte", bytes([0xc3], "%A9="), [[
    "\u00e9",
    "",
  ]]],
  ["a truncated sequence", bytes("a=", [0xc3, 0x28]), [["a", "\uFFFD("]]],
  [
    "a sequence cut by &",
    bytes("a=", [0xe2, 0x82], "&b=", [0xac]),
    [["a", "\uFFFD"], ["b", "\uFFFD"]],
  ],
  [
    "a U+FFFD sent as such, with an escape",
    bytes("a=\uFFFD%41&\uFFFD=%zz"),
    [["a", "\uFFFDA"], ["\uFFFD", "%zz"]],
  ],
  [
    "valid UTF-8 with escapes",
    bytes("caf\u00e9=%E2%82%AC+\u20ac"),
    [["caf\u00e9", "\u20ac \u20ac"]],
  ],
  ["a NUL", bytes("a=", [0], "%00"), [["a", "\0\0"]]],
];

Deno.test("Request.form() decodes urlencoded bytes as the WHATWG parser does", async (t) => {
  for (const [name, body, expected] of BYTE_BODIES) {
    await t.step(name, async () => {
      assert.deepEqual(await pestoForm(body), expected);
      assert.deepEqual([...parseQuery(body)], expected);
      assert.deepEqual(await fetchForm(body), expected, "formData() agrees");
    });
  }
});

Deno.test("parseQuery() and Request.form() agree with the runtime's parser on any input", async (t) => {
  const piece = fc.constantFrom(
    "&",
    "=",
    "+",
    "%",
    "%2",
    "%zz",
    "%41",
    "%2B",
    "%C3",
    "%A9",
    "%FF",
    "%EF%BB%BF",
    "%ED%A0%80",
    "\u00e9",
    "\uFEFF",
    "\uFFFD",
    "\u{1F600}",
    "\uD800",
    ";",
    "?",
    "a",
    " ",
  );
  const text = fc.oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.array(piece, { maxLength: 16 }).map((p) => p.join("")),
  );
  await t.step("text", () => {
    fc.assert(
      fc.property(text, (input) => {
        assert.deepEqual([...parseQuery(input)], whatwg(input));
      }),
      { numRuns: 4000 },
    );
  });
  const byte = fc.oneof(
    fc.integer({ min: 0, max: 255 }).map((b) => [b]),
    piece.map((p) => [...new TextEncoder().encode(p)]),
    fc.constantFrom([0xef, 0xbb, 0xbf], [0xc3], [0xa9], [0xe2, 0x82]),
  );
  await t.step("bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(byte, { maxLength: 24 }), async (parts) => {
        const body = new Uint8Array(parts.flat());
        const expected = await fetchForm(body);
        assert.deepEqual([...parseQuery(body)], expected);
        assert.deepEqual(await pestoForm(body), expected);
      }),
      { numRuns: 800 },
    );
  });
});

Deno.test("Request.form() honours a declared charset, with the same rules", async () => {
  const body = bytes("a=%E9%zz", [0xe8], "&", [0xef, 0xbb, 0xbf], "=%");
  const request = pesto(
    new globalThis.Request("http://x.test/", {
      method: "POST",
      body,
      headers: {
        "content-type": "application/x-www-form-urlencoded; charset=ISO-8859-1",
      },
    }),
  );
  assert.deepEqual([...await request.form()], [
    ["a", "\u00e9%zz\u00e8"],
    ["\u00ef\u00bb\u00bf", "%"],
  ]);
  assert.deepEqual([...parseQuery("a=%E9%zz\u00e8", "ISO-8859-1")], [
    ["a", "\u00e9%zz\u00e8"],
  ]);
});

Deno.test("a BOM is kept by urlencoded parsing only: multipart fields and text() drop it, as before", async () => {
  const bom = bytes([0xef, 0xbb, 0xbf], "x");
  const multipart = pesto(
    new globalThis.Request("http://x.test/", {
      method: "POST",
      body: multipartBody("XyZ", [{ name: "f", content: bom }]) as BodyInit,
      headers: { "content-type": "multipart/form-data; boundary=XyZ" },
    }),
  );
  assert.equal((await multipart.form()).get("f"), "x");
  const text = pesto(
    new globalThis.Request("http://x.test/", { method: "POST", body: bom }),
  );
  assert.equal(await text.text(), "x");
  assert.deepEqual(await pestoForm(bom), [["\uFEFFx", ""]]);
});

Deno.test("queries and urlencoded bodies sent as raw bytes over a socket", async (t) => {
  const app = new DispatcherApp();
  app.match("/q", "GET", (r) => Response.json([...r.query]));
  app.match(
    "/form",
    "POST",
    async (r) => Response.json([...await r.form()]),
  );
  const server = startServer(app.fetch);
  try {
    await t.step("a query with bad escapes and invalid UTF-8", async () => {
      const response = await rawRequest(
        server.port,
        "GET /q?a=100%&b=%zz&c=%ff&d=%C3%A9&e=caf%C3&%=%25 HTTP/1.1\r\n" +
          "Host: x.test\r\nConnection: close\r\n\r\n",
      );
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body), [
        ["a", "100%"],
        ["b", "%zz"],
        ["c", "\uFFFD"],
        ["d", "\u00e9"],
        ["e", "caf\uFFFD"],
        ["%", "%"],
      ]);
    });
    await t.step("a body with a BOM, raw and escaped bytes", async () => {
      const body = bytes(
        [0xef, 0xbb, 0xbf],
        "t=1&a=",
        [0xff],
        "&b=%C3",
        [0xa9],
        "&c=%&d=%E2%82%AC",
      );
      const response = await rawRequest(server.port, [
        "POST /form HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n" +
        "Content-Type: application/x-www-form-urlencoded\r\n" +
        `Content-Length: ${body.byteLength}\r\n\r\n`,
        body,
      ]);
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body), [
        ["\uFEFFt", "1"],
        ["a", "\uFFFD"],
        ["b", "\u00e9"],
        ["c", "%"],
        ["d", "\u20ac"],
      ]);
    });
  } finally {
    await server.close();
  }
});

Deno.test("parseQuery() returns a MultiDict whatever the input", () => {
  for (const input of ["%", "%%%", "&=&=", "\uD800", new Uint8Array([0xff])]) {
    assert.ok(parseQuery(input) instanceof MultiDict);
  }
});
