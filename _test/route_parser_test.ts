// The private pattern parser: what the public tests cannot reach directly.
import assert from "node:assert/strict";
import { BUILTIN_CONVERTERS, type Converter } from "@pesto/pesto";
import { cannotMatchSlash, parsePattern } from "../_routing/pattern.ts";

const converters = BUILTIN_CONVERTERS as unknown as Record<string, Converter>;

Deno.test("cannotMatchSlash() judges regexes on the safe side", async (t) => {
  const cases: [string, boolean][] = [
    ["[^/]+", true],
    ["[+-]?\\d+", true],
    [BUILTIN_CONVERTERS.float.pattern, true],
    [BUILTIN_CONVERTERS.uuid.pattern, true],
    ["about|help", true],
    ["a\\.b|c\\+", true],
    ["[a-z-]+", true],
    ["[0-9]", true],
    ["\\d{4}", true],
    ["\\w+", true],
    ["(?:a|b)+", true],
    ["[^/a]", true],
    ["[]", true],
    [".+", false],
    ["[^a]+", false],
    ["[!-~]+", false],
    ["[.-0]", false],
    ["[+-/]", false],
    ["\\D+", false],
    ["\\S", false],
    ["a/b", false],
    ["a\\/b", false],
    ["[/]", false],
    ["[\\/]", false],
    ["\\x2f", false],
    ["[\\x2f]", false],
    ["[^]", false],
    ["[]/]", false],
    ["[^]/]", false],
  ];
  for (const [source, expected] of cases) {
    await t.step(`${source} → ${expected}`, () => {
      assert.equal(cannotMatchSlash(source), expected);
    });
  }
});

Deno.test("parsePattern() splits a pattern into one step per segment", () => {
  const kinds = (pattern: string) =>
    parsePattern(pattern, converters).steps.map((s) => s.kind);
  assert.deepEqual(kinds("/"), ["static"]);
  assert.deepEqual(kinds("/a/b/"), ["static", "static", "static"]);
  assert.deepEqual(kinds("/a/<n:int>/<s:unicode>.pdf"), [
    "static",
    "whole",
    "mixed",
  ]);
  assert.deepEqual(kinds("/a/<p:path>/<n:unicode>.pdf"), ["static", "tail"]);
  assert.deepEqual(kinds("/x<p:path>"), ["tail"]);
});

Deno.test("parsePattern() gives equal shapes to patterns that differ in names only", () => {
  const shape = (pattern: string) => parsePattern(pattern, converters).shape;
  assert.equal(shape("/a/<x:int>/<:unicode>"), shape("/a/<y:int>/<z:unicode>"));
  assert.notEqual(shape("/a/<x:int>"), shape("/a/<x:unicode>"));
  assert.notEqual(shape("/a/<x:any('a')>"), shape("/a/<x:any('b')>"));
  assert.equal(shape("/caf\u00e9"), "/caf%C3%A9");
});

Deno.test("parsePattern() gives the segments, where the tail starts and the literal ones", () => {
  const parse = (pattern: string) => parsePattern(pattern, converters);
  const a = parse("/caf\u00e9/<n:int>.html/<p:path>/x");
  assert.deepEqual(
    a.segments.map((pieces) =>
      pieces.map((p) => typeof p === "string" ? p : p.source)
    ),
    [["caf%C3%A9"], ["<n:int>", ".html"], ["<p:path>"], ["x"]],
  );
  assert.equal(a.tail, 2);
  assert.deepEqual(a.fixed, ["caf%C3%A9", undefined]);
  const b = parse("/a/<x:unicode>/");
  assert.equal(b.tail, -1);
  assert.deepEqual(b.fixed, ["a", undefined, ""]);
  assert.equal(parse("/x<p:path>").tail, 0);
});
