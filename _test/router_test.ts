// The compiled matcher against the linear scan it must agree with.
import assert from "node:assert/strict";
import fc from "fast-check";
import { BUILTIN_CONVERTERS, type Converter } from "@pesto/pesto";
import { parsePattern } from "../_routing/pattern.ts";
import { Router } from "../_routing/router.ts";
import { even } from "./_converters.ts";

// `even` refuses some text its regex accepts, so that "matched but not
// converted" is exercised too. A converter whose regex could match "/" if it were not held to one
// segment: the combined regex matches it as a segment and checks it after.
const lower: Converter<string> = {
  pattern: "[^A-Z]+",
  parse: (text) => text,
  format: String,
};
const converters = { ...BUILTIN_CONVERTERS, even, lower } as Record<
  string,
  Converter
>;

function router(table: [string, string[]][]): Router<string> {
  const r = new Router<string>();
  for (const [pattern, methods] of table) {
    r.add(parsePattern(pattern, converters), new Set(methods), pattern);
  }
  return r;
}

function same(
  r: Router<string>,
  method: string,
  path: string,
  after = -1,
): void {
  const compiled = r.find(method, path, after);
  const linear = r.findLinear(method, path, after);
  assert.deepEqual(
    compiled,
    linear,
    `${method} ${path} after ${after}: ${JSON.stringify(compiled)} vs ${
      JSON.stringify(linear)
    }`,
  );
}

Deno.test("Router.find() agrees with the linear scan on hand-picked tables", async (t) => {
  const cases: [string, [string, string[]][], string[]][] = [
    ["a dynamic route before a static one", [
      ["/a/<x:unicode>", ["GET"]],
      ["/a/b", ["GET"]],
    ], ["/a/b", "/a/c", "/a", "/a/b/"]],
    ["a static route inside a longer static chain", [
      ["/a/b/c/d", ["GET"]],
      ["/a/<x:unicode>/c/e", ["GET"]],
      ["/a/b/c", ["GET"]],
    ], ["/a/b/c/d", "/a/b/c/e", "/a/b/c", "/a/x/c/e", "/a/b"]],
    ["trailing slashes", [
      ["/", ["GET"]],
      ["/a/", ["GET"]],
      ["/a", ["GET"]],
      ["/<x:unicode>/", ["GET"]],
    ], ["/", "/a/", "/a", "/b/", "/b"]],
    ["tails and their order", [
      ["/f/<p:path>/z", ["GET"]],
      ["/f/<a:int>/<b:unicode>", ["GET"]],
      ["/f/<p:path>", ["GET"]],
      ["/f/x<p:path>", ["GET"]],
    ], ["/f/1/z", "/f/1/y", "/f/1", "/f/xa/b", "/f/", "/f/a/b/c/z"]],
    ["converters that refuse", [
      ["/n/<n:even>", ["GET"]],
      ["/n/<n:int>", ["POST"]],
      ["/n/<n:int>", ["GET"]],
      ["/n/<s:unicode>", ["GET"]],
    ], ["/n/2", "/n/3", "/n/x", "/n/99999999999999999999"]],
    ["an earlier route in a later branch of the tree", [
      ["/a/<x:unicode>/z", ["GET"]],
      ["/a/b/<y:unicode>", ["GET"]],
      ["/a/<x:unicode>/<w:unicode>", ["GET"]],
    ], ["/a/b/q", "/a/b/z", "/a/c/q"]],
    ["converters held to one segment", [
      ["/l/<a:lower>", ["GET"]],
      ["/l/<a:lower>/<b:int>", ["GET"]],
      ["/l/<a:lower>.<b:lower>", ["GET"]],
      ["/l/<p:path>", ["GET"]],
    ], ["/l/ab", "/l/ab/1", "/l/aB/1", "/l/a.b", "/l/A.b", "/l/AB"]],
    ["mixed segments", [
      ["/<p:any('about', 'help')>.html", ["GET"]],
      ["/<a:int>-<b:int>", ["GET"]],
      ["/<name:unicode>.html", ["GET"]],
    ], ["/about.html", "/x.html", "/1-2", "/1-x", "/help.htm"]],
  ];
  for (const [what, table, paths] of cases) {
    await t.step(what, () => {
      const r = router(table);
      for (const path of paths) {
        for (const method of ["GET", "HEAD", "POST", "PUT"]) {
          for (let after = -1; after < table.length; after++) {
            same(r, method, path, after);
          }
        }
      }
    });
  }
});

Deno.test("Router.find() serves HEAD from GET routes, and nothing for unknown methods", () => {
  const r = router([["/a", ["GET"]], ["/a", ["HEAD"]], ["/b", ["POST"]]]);
  assert.equal(r.find("HEAD", "/a")?.index, 0);
  assert.equal(r.find("HEAD", "/b"), undefined);
  assert.equal(r.find("BREW", "/a"), undefined);
  assert.deepEqual(r.allowed("/a", "POST"), ["GET", "HEAD"]);
  assert.deepEqual(r.allowed("/b", "GET"), ["POST"]);
  assert.deepEqual(r.allowed("/c", "GET"), []);
});

Deno.test("Router.find() is recompiled when routes are added", () => {
  const r = router([["/a/<n:int>", ["GET"]]]);
  assert.equal(r.find("GET", "/a/x"), undefined);
  r.add(parsePattern("/a/<s:unicode>", converters), new Set(["GET"]), "s");
  assert.deepEqual(r.find("GET", "/a/x"), {
    index: 1,
    data: "s",
    params: { s: "x" },
  });
  r.add(parsePattern("/b", converters), new Set(["PUT"]), "b");
  assert.equal(r.find("PUT", "/b")?.index, 2);
});

Deno.test("Router.find() keeps each method's tree apart and drops them all on add", () => {
  const r = router([["/p/<a:unicode>", ["POST"]], ["/g/<a:unicode>", ["GET"]]]);
  // GET, then another method, then GET again: each answers from its own.
  assert.equal(r.find("GET", "/g/1")?.data, "/g/<a:unicode>");
  assert.equal(r.find("POST", "/p/1")?.data, "/p/<a:unicode>");
  assert.equal(r.find("GET", "/p/1"), undefined);
  assert.equal(r.find("POST", "/g/1"), undefined);
  r.add(parsePattern("/p/<b:unicode>", converters), new Set(["GET"]), "pg");
  r.add(parsePattern("/g/<b:unicode>", converters), new Set(["POST"]), "gp");
  assert.deepEqual(r.find("GET", "/p/1"), {
    index: 2,
    data: "pg",
    params: { b: "1" },
  });
  assert.deepEqual(r.find("POST", "/g/1"), {
    index: 3,
    data: "gp",
    params: { b: "1" },
  });
});

Deno.test("Router.find() gives one-placeholder params right past the first names", () => {
  // More distinct names than the matcher has store sites for them, few
  // enough routes for the combined regex.
  const names = Array.from({ length: 12 }, (_, i) => `name${i}`);
  const r = router(names.map((n, i) => [`/r${i}/<${n}:unicode>`, ["GET"]]));
  for (const [i, n] of names.entries()) {
    assert.deepEqual(r.find("GET", `/r${i}/v${i}`)?.params, { [n]: `v${i}` });
    // Escaped values are decoded, on the slower path.
    assert.deepEqual(r.find("GET", `/r${i}/a%20b%2F`)?.params, {
      [n]: "a b/",
    });
    same(r, "GET", `/r${i}/%E2%82%AC`);
  }
  const params = r.find("GET", "/r0/x")!.params;
  params.name0 = "changed";
  assert.deepEqual(r.find("GET", "/r0/x")?.params, { name0: "x" });
});

Deno.test("Router.find() stays right when a converter matches a path itself", () => {
  const r = new Router<string>();
  const seen: unknown[] = [];
  const nested: Converter<string> = {
    pattern: "[a-z]+",
    parse(text) {
      // A converter that routes: the inner match must not disturb the outer.
      seen.push(r.find("GET", "/l/x/y/z")?.params);
      return text.toUpperCase();
    },
    format: String,
  };
  const all = { ...converters, nested };
  r.add(
    parsePattern("/l/<a:lower>/<b:lower>/<c:lower>", all),
    new Set(["GET"]),
    "lower",
  );
  r.add(
    parsePattern("/w/<v:lower>/<w:nested>/<u:lower>", all),
    new Set(["GET"]),
    "nested",
  );
  r.add(parsePattern("/w/<w:unicode>/x", all), new Set(["GET"]), "x");
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(r.find("GET", "/w/abc/def/ghi"), {
      index: 1,
      data: "nested",
      params: { v: "abc", w: "DEF", u: "ghi" },
    });
  }
  assert.deepEqual(seen[0], { a: "x", b: "y", c: "z" });
  assert.equal(r.find("GET", "/w/abc/x")?.index, 2);
});

// Random tables over a small alphabet, so that routes overlap often.
const segment = fc.constantFrom(
  "a",
  "b",
  "ab",
  "v<v:int>",
  "<s:unicode>",
  "<n:int>",
  "<e:even>",
  "<c:any('a', 'ab', '1')>",
  "<x:int>.json",
  "<y:unicode>-<z:int>",
  "<l:lower>",
  "<l:lower>.x",
);
const last = fc.constantFrom("", "/", "/<p:path>", "/<p:path>/a", "/x<p:path>");
const routeDef = fc.tuple(
  fc.array(segment, { minLength: 0, maxLength: 4 }),
  last,
  fc.subarray(["GET", "POST", "HEAD"], { minLength: 1 }),
).map(([segments, end, methods]): [string, string[]] => {
  // Placeholder names must differ within a pattern.
  let i = 0;
  const pattern = ("/" + segments.join("/") + end)
    .replace(/<(\w*):/g, () => `<k${i++}:`)
    .replace(/\/\/+/g, "/");
  return [pattern || "/", methods];
});
const pathSegment = fc.constantFrom(
  "a",
  "b",
  "ab",
  "1",
  "2",
  "-3",
  "v1",
  "vx",
  "1.json",
  "a.json",
  "x-1",
  "x-y",
  "xa",
  "a%2Fb",
  "99999999999999999999",
  "AB",
  "aB.x",
  "b.x",
);
const path = fc.tuple(
  fc.array(pathSegment, { minLength: 0, maxLength: 6 }),
  fc.boolean(),
).map(([segments, slash]) =>
  "/" + segments.join("/") + (slash && segments.length ? "/" : "")
);

/** A path that `pattern` may match: its placeholders filled from `pick`. */
function instance(pattern: string, pick: () => number): string {
  const values: Record<string, string[]> = {
    unicode: ["a", "b", "1", "x-y"],
    int: ["1", "2", "-3"],
    even: ["2", "3"],
    lower: ["a", "b", "aB"],
    path: ["a", "a/b", "1/z"],
  };
  return pattern.replace(/<\w+:(\w+)(?:\(([^)]*)\))?>/g, (_, name, args) => {
    const pool = name === "any"
      ? (args as string).split(",").map((a) => a.trim().slice(1, -1))
      : values[name];
    return pool[pick() % pool.length];
  });
}

Deno.test("Router.find() agrees with the linear scan on random tables and paths", () => {
  let pairs = 0;
  fc.assert(
    fc.property(
      fc.array(routeDef, { minLength: 1, maxLength: 14 }),
      fc.array(path, { minLength: 1, maxLength: 12 }),
      fc.constantFrom("GET", "POST", "HEAD", "PUT"),
      fc.infiniteStream(fc.nat()),
      (table, randomPaths, method, choices) => {
        const r = router(table);
        const pick = () => choices.next().value as number;
        const paths = [
          ...randomPaths,
          ...table.map(([pattern]) => instance(pattern, pick)),
        ];
        for (const p of paths) {
          same(r, method, p);
          const first = r.findLinear(method, p);
          if (first) same(r, method, p, first.index);
          pairs++;
        }
      },
    ),
    { numRuns: 1500 },
  );
  assert.ok(pairs > 5000, `${pairs} pairs`);
});
