// The canonical path (_path.ts) on raw URLs as Deno.serve hands them over:
// new Request() would normalise these before they reach the parser.
import assert from "node:assert/strict";
import { RequestParseError } from "@pesto/pesto";
import {
  canonicalPath,
  encodePathText,
  encodeSegment,
  isSimplePath,
  isValidHost,
  parseTarget,
} from "../_http/path.ts";
import fc from "fast-check";

Deno.test("canonicalPath() resolves, collapses and decodes once", async (t) => {
  const cases: [string, string, string[], boolean][] = [
    ["/", "/", [], false],
    ["/a/b", "/a/b", ["a", "b"], false],
    ["/a/b/", "/a/b/", ["a", "b"], true],
    ["//a///b//", "/a/b/", ["a", "b"], true],
    ["/a/./b/../c", "/a/c", ["a", "c"], false],
    ["/../../etc/passwd", "/etc/passwd", ["etc", "passwd"], false],
    ["/a/%2e%2E/b", "/b", ["b"], false],
    ["/a/%2e/b", "/a/b", ["a", "b"], false],
    ["/a/b/..", "/a/", ["a"], true],
    ["/a/..", "/", [], false],
    ["/a\\b\\..\\c", "/a/c", ["a", "c"], false],
    ["/a%2Fb", "/a%2Fb", ["a/b"], false],
    ["/a%5Cb", "/a%5Cb", ["a\\b"], false],
    ["/caf%C3%A9/%41", "/caf%C3%A9/A", ["café", "A"], false],
    ["/sp ace", "/sp%20ace", ["sp ace"], false],
    ["/...", "/...", ["..."], false],
    ["/.hidden", "/.hidden", [".hidden"], false],
  ];
  for (const [raw, path, segments, trailingSlash] of cases) {
    await t.step(raw, () => {
      const result = canonicalPath(raw);
      // A simple path leaves its segments to be split on demand.
      const split = result.segments ??
        result.path.split("/").filter((s) => s !== "");
      assert.deepEqual({ ...result, segments: split }, {
        path,
        segments,
        trailingSlash,
      });
    });
  }
});

Deno.test("canonicalPath() answers 400 to undecodable paths", async (t) => {
  const cases: [string, string][] = [
    ["/%", "bad percent-escape"],
    ["/a%2", "bad percent-escape"],
    ["/%zz", "bad percent-escape"],
    ["/%FF", "invalid UTF-8"],
    ["/%C3%28", "invalid UTF-8"],
    ["/%ED%A0%80", "invalid UTF-8"],
    ["/%C0%AF", "invalid UTF-8"],
    ["/a%00", "NUL byte"],
    ["/a\u0000", "NUL byte"],
    ["a/b", "Malformed request target"],
  ];
  for (const [raw, why] of cases) {
    await t.step(JSON.stringify(raw), () => {
      assert.throws(
        () => canonicalPath(raw),
        (e) => e instanceof RequestParseError && e.message.endsWith(why),
      );
    });
  }
});

Deno.test("isValidHost() accepts names, addresses and ports only", async (t) => {
  const cases: [string, boolean][] = [
    ["example.com", true],
    ["Example.COM:8080", true],
    ["localhost:0", true],
    ["127.0.0.1:65535", true],
    ["[::1]", true],
    ["[2001:db8::1]:443", true],
    ["a_b-c.test", true],
    ["", false],
    ["x/admin", false],
    ["x?", false],
    ["x#y", false],
    ["a@b", false],
    ["x:", false],
    ["x:65536", false],
    ["x:99999", false],
    ["x:123456", false],
    ["ex ample", false],
    ["[:::]", false],
    ["[::1", false],
    ["1.2.3.999", false],
    ["09", false],
  ];
  for (const [host, valid] of cases) {
    await t.step(JSON.stringify(host), () => {
      assert.equal(isValidHost(host), valid);
    });
  }
});

Deno.test("parseTarget() splits a raw URL and validates its Host", async (t) => {
  await t.step("path, query and fragment", () => {
    const target = parseTarget("http://h.test/a/../b?x=1&y#frag", "h.test");
    assert.deepEqual(target, {
      scheme: "http",
      host: "h.test",
      path: "/b",
      segments: ["b"],
      search: "x=1&y",
      trailingSlash: false,
    });
  });
  await t.step("a fragment before any query", () => {
    const target = parseTarget("http://h.test/a#f?not-a-query", null);
    assert.equal(target.path, "/a");
    assert.equal(target.search, "");
  });
  await t.step("an empty path is /", () => {
    assert.equal(parseTarget("https://h.test?q", "h.test").path, "/");
  });
  await t.step("a malformed Host header is a 400", () => {
    assert.throws(
      () => parseTarget("http://x/admin/p", "x/admin"),
      RequestParseError,
    );
  });
  await t.step("a malformed authority in the URL is a 400", () => {
    assert.throws(
      () => parseTarget("http://x:99999/p", null),
      RequestParseError,
    );
  });
});

Deno.test("encodeSegment() and encodePathText() escape what a path cannot hold", () => {
  assert.equal(encodeSegment("a/b c%"), "a%2Fb%20c%25");
  assert.equal(encodePathText("/a/b c%"), "/a/b%20c%25");
  assert.equal(encodeSegment("é"), "%C3%A9");
});

Deno.test("isSimplePath() agrees with the simple-path regex it replaces", () => {
  const SIMPLE =
    /^(?:\/[A-Za-z0-9_~!$&'()*+,;=:@-][A-Za-z0-9._~!$&'()*+,;=:@-]*)*\/?$/;
  const fixed = [
    "",
    "/",
    "//",
    "/a",
    "/a/",
    "/a//b",
    "/.",
    "/..",
    "/.a",
    "/a.",
    "/a/.b",
    "/a%20",
    "/a\\b",
    "/caf\u00e9",
    "a",
    "/a/b/c.html",
    "/-_~!$&'()*+,;=:@",
  ];
  for (const path of fixed) {
    assert.equal(isSimplePath(path), SIMPLE.test(path), JSON.stringify(path));
  }
  const char = fc.constantFrom(..."/.a%Z9-_~!:@\\ \u00e9?#");
  fc.assert(
    fc.property(fc.string({ unit: char, maxLength: 12 }), (path) => {
      assert.equal(isSimplePath(path), SIMPLE.test(path), JSON.stringify(path));
    }),
    { numRuns: 5000 },
  );
});
