import assert from "node:assert/strict";
import {
  Cookie,
  type CookieOptions,
  DispatcherApp,
  expireCookie,
  parseCookieHeader,
  Response,
  signCookieValue,
  verifyCookieValue,
} from "@pesto/pesto";
import { rawRequest, startServer } from "./_raw_http.ts";

Deno.test("Cookie.toString() writes RFC 6265 Set-Cookie values", async (t) => {
  const cases: [string, string, CookieOptions, string][] = [
    ["a", "b", {}, "a=b"],
    ["a", "x y;z,é", {}, "a=x%20y%3Bz%2C%C3%A9"],
    ["a", "", {}, "a="],
    ["a", "b", { maxAge: 90.7 }, "a=b; Max-Age=90"],
    ["a", "b", { maxAge: -5 }, "a=b; Max-Age=0"],
    [
      "a",
      "b",
      { expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)) },
      "a=b; Expires=Wed, 02 Jan 2030 03:04:05 GMT",
    ],
    [
      "a",
      "b",
      { domain: "example.com", path: "/app" },
      "a=b; Domain=example.com; Path=/app",
    ],
    ["a", "b", { secure: true, httpOnly: true }, "a=b; Secure; HttpOnly"],
    ["a", "b", { sameSite: "Strict" }, "a=b; SameSite=Strict"],
    ["a", "b", { sameSite: "Lax" }, "a=b; SameSite=Lax"],
    [
      "a",
      "b",
      { secure: true, sameSite: "None", partitioned: true },
      "a=b; Secure; SameSite=None; Partitioned",
    ],
    ["__Secure-a", "b", { secure: true }, "__Secure-a=b; Secure"],
    [
      "__Host-a",
      "b",
      { secure: true, path: "/" },
      "__Host-a=b; Path=/; Secure",
    ],
  ];
  for (const [name, value, options, expected] of cases) {
    await t.step(expected, () => {
      assert.equal(new Cookie(name, value, options).toString(), expected);
    });
  }
});

Deno.test("Cookie throws a TypeError on what browsers would reject", async (t) => {
  const cases: [string, string, CookieOptions, RegExp][] = [
    ["bad name", "v", {}, /RFC 6265 token/],
    ["a=b", "v", {}, /RFC 6265 token/],
    ["", "v", {}, /RFC 6265 token/],
    ["a", "\uD800", {}, /lone surrogate/],
    ["a", "x".repeat(5000), {}, /4096 bytes/],
    ["a", "v", { maxAge: Infinity }, /maxAge/],
    ["a", "v", { expires: new Date(NaN) }, /invalid Date/],
    ["a", "v", { expires: new Date(Date.UTC(10000, 0)) }, /1601 and 9999/],
    ["a", "v", { domain: "exa mple.com" }, /domain/],
    ["a", "v", { domain: "a..b" }, /domain/],
    ["a", "v", { path: "/a;b" }, /path/],
    ["a", "v", { path: "/a\nb" }, /path/],
    ["a", "v", { sameSite: "Loose" as "Lax" }, /sameSite/],
    ["a", "v", { sameSite: "None" }, /SameSite=None needs secure/],
    ["a", "v", { partitioned: true }, /Partitioned needs secure/],
    ["__Secure-a", "v", {}, /__Secure- prefix/],
    ["__secure-a", "v", {}, /__Secure- prefix/],
    ["__Host-a", "v", { secure: true }, /__Host- prefix/],
    ["__Host-a", "v", { secure: true, path: "/x" }, /__Host- prefix/],
    [
      "__HOST-a",
      "v",
      { secure: true, path: "/", domain: "a.com" },
      /__Host- prefix/,
    ],
  ];
  for (const [name, value, options, message] of cases) {
    await t.step(`${JSON.stringify(name)} ${JSON.stringify(options)}`, () => {
      assert.throws(
        () => new Cookie(name, value, options),
        (e) =>
          e instanceof TypeError && message.test(e.message) &&
          e.message.startsWith("Cannot set cookie"),
      );
    });
  }
});

Deno.test("Cookie keeps its attributes readable and its expiry its own", () => {
  const expires = new Date(Date.UTC(2030, 0, 1));
  const cookie = new Cookie("a", "b", { expires, maxAge: 5, domain: "x.test" });
  expires.setUTCFullYear(2040);
  assert.equal(cookie.expires?.getUTCFullYear(), 2030);
  assert.equal(cookie.maxAge, 5);
  assert.equal(cookie.domain, "x.test");
  assert.equal(cookie.secure, false);
  assert.equal(cookie.httpOnly, false);
  assert.equal(cookie.partitioned, false);
  assert.equal(cookie.sameSite, undefined);
});

Deno.test("expireCookie() drops a cookie with its path and domain", () => {
  assert.equal(
    expireCookie("sid", { path: "/app", domain: "x.test", maxAge: 99 })
      .toString(),
    "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Domain=x.test; Path=/app",
  );
  assert.throws(() => expireCookie("bad name"), TypeError);
});

Deno.test("parseCookieHeader() is lenient and never throws", async (t) => {
  const cases: [string | null | undefined, [string, string][]][] = [
    [null, []],
    [undefined, []],
    ["", []],
    ["a=1", [["a", "1"]]],
    ["a=1; b=2;c=3", [["a", "1"], ["b", "2"], ["c", "3"]]],
    ["a=1; a=2", [["a", "1"], ["a", "2"]]],
    ['a="quoted value"', [["a", "quoted value"]]],
    ['a="', [["a", '"']]],
    ["a=x=y", [["a", "x=y"]]],
    ["junk; =nameless; a=1;;", [["a", "1"]]],
    ["$Version=1; a=1; $Path=/", [["$Version", "1"], ["a", "1"], [
      "$Path",
      "/",
    ]]],
    ["a=%E2%82%AC", [["a", "€"]]],
    ["a=%E2%82; b=%zz", [["a", "%E2%82"], ["b", "%zz"]]],
    ["  a  =  spaced  ", [["a", "spaced"]]],
    ["a=\u0000\u00ff", [["a", "\u0000\u00ff"]]],
  ];
  for (const [header, expected] of cases) {
    await t.step(String(JSON.stringify(header)), () => {
      assert.deepEqual([...parseCookieHeader(header)], expected);
    });
  }
  await t.step("what Cookie writes, it reads back", () => {
    for (const value of ["plain", "x y;z,é", "%41", "a=b", '"q"', ""]) {
      for (const name of ["c", "$c", "$"]) {
        const written = new Cookie(name, value).toString();
        assert.equal(parseCookieHeader(written).get(name), value);
      }
    }
  });
});

Deno.test("parseCookieHeader() reads what jshttp/cookie and http-state read", async (t) => {
  // [header, every pair in order, the value get() gives for some names]
  const cases: [string, [string, string][], Record<string, string>?][] = [
    // jshttp/cookie's parse tests.
    ["foo=bar", [["foo", "bar"]]],
    ["foo=123", [["foo", "123"]]],
    ["FOO    = bar;   baz  =   raz", [["FOO", "bar"], ["baz", "raz"]]],
    [
      'foo="bar=123456789&name=Magic+Mouse"',
      [["foo", "bar=123456789&name=Magic+Mouse"]],
    ],
    ["email=%20%22%2c%3b%2f", [["email", ' ",;/']]],
    ["foo=%1;bar=bar", [["foo", "%1"], ["bar", "bar"]]],
    ["foo=bar;fizz  ;  buzz", [["foo", "bar"]]],
    ["  fizz; foo=  bar", [["foo", "bar"]]],
    [
      "foo=%1;bar=bar;foo=boo",
      [["foo", "%1"], ["bar", "bar"], ["foo", "boo"]],
      { foo: "%1" },
    ],
    [
      "foo=false;bar=bar;foo=true",
      [["foo", "false"], ["bar", "bar"], ["foo", "true"]],
      { foo: "false" },
    ],
    [
      "foo=;bar=bar;foo=boo",
      [["foo", ""], ["bar", "bar"], ["foo", "boo"]],
      { foo: "" },
    ],
    ['foo=" a b c "', [["foo", " a b c "]]],
    ['foo="bar', [["foo", '"bar']]],
    ['foo=bar"', [["foo", 'bar"']]],
    ['foo=""', [["foo", ""]]],
    ['foo="', [["foo", '"']]],
    ['foo=a"b"c', [["foo", 'a"b"c']]],
    ["foo=%E2%98%83", [["foo", "\u2603"]]],
    ["foo=%E2%98", [["foo", "%E2%98"]]],
    ["foo=%zz%41", [["foo", "%zz%41"]]],
    ["foo=100%", [["foo", "100%"]]],
    // What user agents send in the http-state tests' Cookie lines.
    ["foo=bar; foo=baz", [["foo", "bar"], ["foo", "baz"]], { foo: "bar" }],
    ["foo=a b c", [["foo", "a b c"]]],
    ["foo=\tbar\t; baz=\t", [["foo", "bar"], ["baz", ""]]],
    ["foo=bar=baz=", [["foo", "bar=baz="]]],
    ["foo==bar", [["foo", "=bar"]]],
    ["foo=", [["foo", ""]]],
    ["=bar; foo=1", [["foo", "1"]]],
    ["bar; foo=1", [["foo", "1"]]],
    ["foo=bar;", [["foo", "bar"]]],
    ["$foo=bar; $=x", [["$foo", "bar"], ["$", "x"]], { $foo: "bar" }],
    ["a.b-c_d=1; ~x=2", [["a.b-c_d", "1"], ["~x", "2"]]],
  ];
  for (const [header, pairs, first] of cases) {
    await t.step(JSON.stringify(header), () => {
      const jar = parseCookieHeader(header);
      assert.deepEqual([...jar], pairs);
      for (const [name, value] of Object.entries(first ?? {})) {
        assert.equal(jar.get(name), value);
        assert.deepEqual(
          jar.getAll(name),
          pairs.filter(([n]) => n === name).map(([, v]) => v),
        );
      }
    });
  }
});

Deno.test("parseCookieHeader() decodes values sent as raw UTF-8 bytes", async (t) => {
  // Deno.serve hands over each byte of a header as one char (latin1).
  const cases: [string, [string, string][]][] = [
    ["a=caf\u00c3\u00a9", [["a", "caf\u00e9"]]],
    ["a=\u00e2\u0082\u00ac%20x", [["a", "\u20ac x"]]],
    ["a=\u00f0\u009f\u0098\u0080", [["a", "\u{1F600}"]]],
    ['a="caf\u00c3\u00a9"', [["a", "caf\u00e9"]]],
    ["n\u00c3\u00a9=v", [["n\u00e9", "v"]]],
    // One pair not valid UTF-8 is kept as it came; the others are decoded.
    ["a=caf\u00e9; b=caf\u00c3\u00a9", [["a", "caf\u00e9"], [
      "b",
      "caf\u00e9",
    ]]],
    ["a=\u00c3; b=\u00ff", [["a", "\u00c3"], ["b", "\u00ff"]]],
    ["a=\u00c3\u0028", [["a", "\u00c3("]]],
    ["a=\u00ed\u00a0\u0080", [["a", "\u00ed\u00a0\u0080"]]],
    // Text past 0xFF (a string from code, not a header) is kept.
    ["a=\u20ac\u00c3\u00a9", [["a", "\u20ac\u00c3\u00a9"]]],
    // Raw bytes are decoded before escapes: escaped latin1-looking text stays.
    ["a=%C3%83%C2%A9", [["a", "\u00c3\u00a9"]]],
    ["a=\u00c3\u00a9%zz", [["a", "\u00e9%zz"]]],
    // Only spaces and tabs are trimmed: U+00A0 and a BOM are kept.
    ["a=\u00c2\u00a0x\u00c2\u00a0", [["a", "\u00a0x\u00a0"]]],
    ["a=\u00ef\u00bb\u00bfx", [["a", "\uFEFFx"]]],
  ];
  for (const [header, pairs] of cases) {
    await t.step(JSON.stringify(header), () => {
      assert.deepEqual([...parseCookieHeader(header)], pairs);
    });
  }
});

Deno.test("Request.cookies decodes UTF-8 sent as raw bytes over a socket", async () => {
  const app = new DispatcherApp();
  app.match("/c", "GET", (r) => Response.json([...r.cookies]));
  const server = startServer(app.fetch);
  try {
    const header = new Uint8Array([
      ...new TextEncoder().encode("Cookie: a=caf"),
      0xc3,
      0xa9,
      ...new TextEncoder().encode("; $b=1; c="),
      0xff,
      ...new TextEncoder().encode("; d=%C3%A9; d=2; n"),
      0xc3,
      0xa9,
      ...new TextEncoder().encode("=v\r\n"),
    ]);
    const response = await rawRequest(server.port, [
      "GET /c HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n",
      header,
      "\r\n",
    ]);
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), [
      ["a", "caf\u00e9"],
      ["$b", "1"],
      ["c", "\u00ff"],
      ["d", "\u00e9"],
      ["d", "2"],
      ["n\u00e9", "v"],
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("signCookieValue() and verifyCookieValue() protect values", async (t) => {
  const signed = await signCookieValue("user=42", "secret-1");
  await t.step("the value signed is readable and verifies", async () => {
    assert.match(signed, /^user=42\.[A-Za-z0-9_-]{43}$/);
    assert.equal(await verifyCookieValue(signed, "secret-1"), "user=42");
    assert.equal(await signCookieValue("user=42", "secret-1"), signed);
  });
  await t.step(
    "key rotation: the newest key signs, any key verifies",
    async () => {
      const keys = ["secret-2", "secret-1"];
      assert.equal(await verifyCookieValue(signed, keys), "user=42");
      const resigned = await signCookieValue("user=42", keys);
      assert.notEqual(resigned, signed);
      assert.equal(await verifyCookieValue(resigned, "secret-2"), "user=42");
      assert.equal(await verifyCookieValue(resigned, "secret-1"), undefined);
    },
  );
  await t.step("tampered, forged or malformed values are refused", async () => {
    const signature = signed.slice(signed.lastIndexOf(".") + 1);
    const flipped = signature[0] === "A" ? "B" : "A";
    const cases = [
      "user=43." + signature,
      "user=42." + flipped + signature.slice(1),
      "user=42",
      "user=42.",
      "user=42." + signature.slice(1),
      "user=42." + signature + "A",
      "user=42." + signature.slice(0, -1) + "!",
      // A different spelling of the same signature bytes.
      "user=42." + signature.slice(0, -1) +
      String.fromCharCode(signature.charCodeAt(signature.length - 1) ^ 1),
      "",
      ".",
    ];
    for (const value of cases) {
      assert.equal(
        await verifyCookieValue(value, "secret-1"),
        undefined,
        value,
      );
    }
    assert.equal(await verifyCookieValue(signed, "other"), undefined);
  });
  await t.step("no usable secret is a TypeError", async () => {
    for (const secret of ["", [], ["ok", ""]]) {
      await assert.rejects(() => signCookieValue("v", secret), TypeError);
      await assert.rejects(() => verifyCookieValue(signed, secret), TypeError);
    }
  });
  await t.step(
    "a missing or unusable secret is named in the message",
    async () => {
      const needed = "a secret is needed";
      const cases: [unknown, string][] = [
        [undefined, needed],
        [null, needed],
        ["", `${needed}, not an empty string`],
        [[], `${needed}, not an empty list`],
        [
          ["ok", ""],
          `${needed}: the secret at index 1 of the list is an empty string`,
        ],
        [["ok", 5], `${needed}: the secret at index 1 of the list is a number`],
        [
          [undefined],
          `${needed}: the secret at index 0 of the list is undefined`,
        ],
        [
          new Uint8Array(8),
          `${needed}: give a string or a list of strings, not an object (Uint8Array)`,
        ],
        [42, `${needed}: give a string or a list of strings, not a number`],
      ];
      for (const [secret, problem] of cases) {
        const given = secret as string;
        await assert.rejects(() => signCookieValue("v", given), {
          name: "TypeError",
          message: `Cannot sign the cookie value: ${problem}`,
        });
        await assert.rejects(() => verifyCookieValue(signed, given), {
          name: "TypeError",
          message: `Cannot verify the cookie value: ${problem}`,
        });
      }
      // @ts-expect-error: the secret is missing, as a JavaScript caller may do.
      await assert.rejects(() => signCookieValue("v"), {
        name: "TypeError",
        message: "Cannot sign the cookie value: a secret is needed",
      });
      // @ts-expect-error: the secret is missing.
      await assert.rejects(() => verifyCookieValue(signed), {
        name: "TypeError",
        message: "Cannot verify the cookie value: a secret is needed",
      });
    },
  );
  await t.step("values with dots and any text round-trip", async () => {
    for (const value of ["a.b.c", "", "é€ 😀"]) {
      const s = await signCookieValue(value, "k");
      assert.equal(await verifyCookieValue(s, "k"), value);
    }
  });
});
