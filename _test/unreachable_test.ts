// The private proof behind the refusal of unreachable routes: `shadows()`
// must never say that an earlier pattern matches every path of a later one
// when some path matched by the later one is not matched by the earlier.
// The public behaviour is tested in dispatch_test.ts.
import assert from "node:assert/strict";
import fc from "fast-check";
import { BUILTIN_CONVERTERS, type Converter } from "@pesto/pesto";
import { shadows } from "../_routing/converters.ts";
import {
  encodeLiteral,
  type ParsedPattern,
  parsePattern,
} from "../_routing/pattern.ts";
import { Router } from "../_routing/router.ts";
import { even } from "./_converters.ts";

// The built-in converters and `even`, one like `int` that refuses odd numbers.
const converters = { ...BUILTIN_CONVERTERS, even } as Record<
  string,
  Converter
>;

/** Whether `parsed` matches the encoded `path`, as the router does. */
function matches(parsed: ParsedPattern, path: string): boolean {
  const router = new Router<string>();
  router.add(parsed, new Set(["GET"]), parsed.source);
  return router.findLinear("GET", path) !== undefined;
}

// Values for placeholders, encoded as in request paths: each converter
// takes some and refuses others.
const VALUES = [
  "0",
  "12",
  "-3",
  "99999999999999999999",
  "1.5",
  "1e999",
  "0b8f6c48-8d3a-4b1e-9e5a-2c1d3e4f5a6b",
  "a",
  "b",
  "new",
  "Ab",
  "x.html",
  "caf%C3%A9",
  "%FF",
  "a%2Fb",
  "a-b",
  "1-2",
  "a/b",
  "a/",
  "",
];

/** Paths built from the pattern's literal text and `VALUES`. */
function pathsOf(parsed: ParsedPattern): string[] {
  let paths = [""];
  for (const token of parsed.tokens) {
    const texts = token.kind === "literal"
      ? [encodeLiteral(token.text)]
      : VALUES;
    paths = paths.flatMap((path) => texts.map((text) => path + text));
    if (paths.length > 4000) paths = paths.filter((_, i) => i % 7 === 0);
  }
  return paths;
}

const LITERALS = [
  "a",
  "new",
  "12",
  "99999999999999999999",
  "x.html",
  "caf\u00e9",
];
const SPECS = [
  "int",
  "float",
  "unicode",
  "uuid",
  "even",
  "any('a', 'b')",
  "any('a')",
  "any('12', 'new')",
  "unicode('[a-z]+')",
  "unicode('[a-z]*')",
  "unicode('[0-9]+')",
  "int('\\d{2}')",
];

/** One segment: literal text, a placeholder, or both. */
const segment = fc.oneof(
  fc.constantFrom(...LITERALS),
  fc.constantFrom(...SPECS).map((spec) => `<:${spec}>`),
  fc.tuple(fc.constantFrom(...SPECS), fc.constantFrom(".html", "-"))
    .map(([spec, after]) => `<:${spec}>${after}`),
  fc.constantFrom(...SPECS).map((spec) => `v<:${spec}>`),
  fc.tuple(fc.constantFrom(...SPECS), fc.constantFrom(...SPECS))
    .map(([x, y]) => `<:${x}>-<:${y}>`),
);
/** The end of a pattern: maybe a trailing slash or a `path`. */
const end = fc.constantFrom(
  "",
  "/",
  "/<:path>",
  "/<:path>/a",
  "/<:path>/a/new",
  "/x<:path>",
  "<:path>",
);

function join(segments: readonly string[], last: string): string {
  const text = segments.map((s) => "/" + s).join("") + last;
  return text.startsWith("/") ? text : "/" + text;
}

/**
 * Pairs of patterns alike enough that many shadow: the second is the
 * first with some segments replaced, and maybe another end.
 */
const pair = fc.tuple(
  fc.array(segment, { minLength: 0, maxLength: 3 }),
  end,
  fc.array(fc.option(segment, { freq: 2 }), { minLength: 3, maxLength: 3 }),
  fc.option(end, { freq: 2 }),
  fc.integer({ min: -1, max: 1 }),
).map(([segments, last, changes, otherLast, grow]) => {
  const other = segments.map((s, i) => changes[i] ?? s);
  if (grow > 0 && changes[2] !== null) other.push(changes[2]);
  if (grow < 0) other.pop();
  return [join(segments, last), join(other, otherLast ?? last)] as const;
});

Deno.test("shadows() never claims what a path disproves", () => {
  let proved = 0;
  let pairs = 0;
  fc.assert(
    fc.property(pair, ([a, b]) => {
      let earlier: ParsedPattern;
      let later: ParsedPattern;
      try {
        earlier = parsePattern(a, converters);
        later = parsePattern(b, converters);
      } catch {
        return; // Not a pattern (`//`, `path` twice...).
      }
      pairs++;
      if (!shadows(earlier, later)) return;
      proved++;
      for (const path of pathsOf(later)) {
        if (matches(later, path)) {
          assert.ok(matches(earlier, path), `${a} misses ${path} of ${b}`);
        }
      }
    }),
    { numRuns: 3000 },
  );
  // The property is not empty.
  assert.ok(pairs > 2000, `${pairs} pairs`);
  assert.ok(proved > 150, `${proved} proved`);
});

Deno.test("shadows() proves what the router makes unreachable", async (t) => {
  const cases: [string, string, boolean][] = [
    ["/a/<:unicode>", "/a/new", true],
    ["/a/<:unicode>", "/a/<:even>", true],
    ["/a/<:even>", "/a/<:even>/", false],
    ["/a/<:even>", "/a/2", false],
    ["/a/<:even>/<:unicode>", "/a/<:even>/new", true],
    ["/<:path>", "/<:even>/<:path>", true],
    ["/<:path>", "/", false],
    ["/a<:path>", "/a", false],
    ["/a<:path>", "/ab", true],
    ["/<:unicode>.html", "/.html", false],
    ["/<:unicode('a*')>.html", "/.html", true],
    ["/<:unicode>", "/<:unicode('a*')>", true],
    ["/<:unicode>.html", "/<:unicode('a*')>.html", false],
    ["/<:int>", "/<:any('1', '2')>", true],
    ["/<:int>", "/<:any('1', 'x')>", false],
    ["/<:any('a', 'b')>-<:int>", "/a-1", true],
    ["/<:unicode>-<:int>", "/<:unicode>-<:int>", true],
    ["/<:unicode>-<:int>", "/<:int>-<:int>", false],
    // Only the paths the later route matches count, and it must match one.
    ["/a/b", "/a/<:any('\0', 'b')>", true],
    ["/a/b", "/a/<:any('\0')>", false],
    // Text must be left for `path` and `unicode`.
    ["/x<:path>", "/x<:unicode('a*')>", false],
    ["/x<:path>", "/x<:unicode('a+')>", true],
    ["/<:unicode>.html", "/<:unicode('a*')><:unicode('b*')>.html", false],
    ["/<:unicode>.html", "/<:unicode('a*')>-<:unicode('b*')>.html", true],
    // Segments before a `path` are taken one by one.
    ["/<:unicode>/x/<:path>", "/<:path>/x/y", false],
    ["/<:unicode>/<:unicode>/<:path>", "/<:int>", false],
    ["/<:unicode>/<:path>", "/<:int>/<:int>", true],
    // A regex argument: the same one, or not judged.
    ["/<:unicode('[a-z]+')>", "/<:unicode('[0-9]+')>", false],
    ["/<:unicode('[a-z]+')>/a", "/<:unicode('[a-z]+')>/<:any('a')>", true],
  ];
  for (const [a, b, expected] of cases) {
    await t.step(
      `${a} ${expected ? "shadows" : "does not shadow"} ${b}`,
      () => {
        assert.equal(
          shadows(parsePattern(a, converters), parsePattern(b, converters)),
          expected,
        );
      },
    );
  }
});
