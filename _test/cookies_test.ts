import assert from "node:assert/strict";
import {
  Cookie,
  type CookieOptions,
  expireCookie,
  parseCookieHeader,
  signCookieValue,
  verifyCookieValue,
} from "@pesto/pesto";

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
    ["$Version=1; a=1; $Path=/", [["a", "1"]]],
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
      const written = new Cookie("c", value).toString();
      assert.equal(parseCookieHeader(written).get("c"), value);
    }
  });
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
  await t.step("values with dots and any text round-trip", async () => {
    for (const value of ["a.b.c", "", "é€ 😀"]) {
      const s = await signCookieValue(value, "k");
      assert.equal(await verifyCookieValue(s, "k"), value);
    }
  });
});
