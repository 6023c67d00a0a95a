// Type-level tests: `deno check` (and `deno test`, which type-checks)
// fails when a type below is wrong or an `@ts-expect-error` line compiles.
import assert from "node:assert/strict";
import {
  type Converter,
  type ConverterValue,
  DispatcherApp,
  Response,
  type RouteParams,
} from "@pesto/pesto";

/** `true` when `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;
/** Compiles only when given `true`. */
function expectType<_T extends true>(): void {}

const year: Converter<Date> = {
  pattern: "\\d{4}",
  parse: (text) => new Date(Date.UTC(Number(text), 0)),
  format: (value) => String(value.getUTCFullYear()),
};
const flag: Converter<boolean> = {
  pattern: "yes|no",
  parse: (text) => text === "yes",
  format: (value) => (value ? "yes" : "no"),
};

// Params are inferred from the pattern string.
expectType<
  Equal<
    RouteParams<"/r/<name:unicode>/<id:int>">,
    { name: string; id: number }
  >
>();
expectType<Equal<RouteParams<"/f/<x:float>">, { x: number }>>();
expectType<
  Equal<
    RouteParams<"/u/<id:uuid>/<p:path>/<a:any('x', 'y')>">,
    { id: string; p: string; a: "x" | "y" }
  >
>();
expectType<Equal<RouteParams<"/a/<y:int('\\d{4}')>">, { y: number }>>();
expectType<
  Equal<
    RouteParams<"/<page:any('about','help')>.html">,
    { page: "about" | "help" }
  >
>();
// any(): single or double quotes, spaces, r'' strings; else string.
type NoConverters = Record<never, never>;
expectType<Equal<ConverterValue<"any('a')", NoConverters>, "a">>();
expectType<
  Equal<
    ConverterValue<"any( 'a' ,\"b c\" , r'd' )", NoConverters>,
    "a" | "b c" | "d"
  >
>();
expectType<Equal<ConverterValue<"any(\"x\",'y')", NoConverters>, "x" | "y">>();
expectType<Equal<ConverterValue<"any('a\\\\b')", NoConverters>, string>>();
// (At run time, 'x\', 'b' is the one alternative "x', b".)
expectType<Equal<ConverterValue<"any('x\\', 'b')", NoConverters>, string>>();
expectType<Equal<ConverterValue<"any('a', b)", NoConverters>, string>>();
expectType<Equal<ConverterValue<"any('a' 'b')", NoConverters>, string>>();
expectType<Equal<ConverterValue<"any('a',)", NoConverters>, string>>();
expectType<Equal<ConverterValue<"any", NoConverters>, string>>();
expectType<
  Equal<RouteParams<"/<:any('x')>/<a:any('p>q')>">, { 0: "x"; a: string }>
>();
// A custom `any` is typed by its definition.
expectType<
  Equal<
    RouteParams<"/<f:any('yes')>", { any: Converter<boolean> }>,
    { f: boolean }
  >
>();
// @ts-expect-error: the alternatives are the type.
expectType<Equal<RouteParams<"/<w:any('a','b')>">, { w: string }>>();
expectType<
  Equal<
    RouteParams<"/documents/<dir:path>/<name:unicode>.pdf">,
    { dir: string; name: string }
  >
>();
// Anonymous placeholders are keyed by their position among the anonymous.
expectType<
  Equal<
    RouteParams<"/y/<:int>/<name:unicode>/<:unicode>">,
    { 0: number; name: string; 1: string }
  >
>();
// deno-lint-ignore ban-types
expectType<Equal<RouteParams<"/static/page">, {}>>();
// Custom converters are typed by their definition.
expectType<
  Equal<
    RouteParams<
      "/archive/<y:year>/<f:flag>/<n:int>",
      { year: Converter<Date>; flag: Converter<boolean> }
    >,
    { y: Date; f: boolean; n: number }
  >
>();
// @ts-expect-error: an int is not a string.
expectType<Equal<RouteParams<"/n/<n:int>">, { n: string }>>();

Deno.test("DispatcherApp types: handlers get params typed from the pattern", async () => {
  const app = new DispatcherApp({ converters: { year, flag } });
  app.match("/r/<name:unicode>/<id:int>", "GET", (_req, params) => {
    expectType<Equal<typeof params, { name: string; id: number }>>();
    // @ts-expect-error: no such param.
    params.other;
    return new Response(`${params.name.length + params.id}`);
  });
  app.match("/a/<y:year>/<f:flag>", "GET", (_req, { y, f }) => {
    expectType<Equal<typeof y, Date>>();
    expectType<Equal<typeof f, boolean>>();
    return new Response(`${y.getUTCFullYear()} ${f}`);
  });
  app.match("/k/<:int>/<:int>", {
    GET: (_req, params) => new Response(`${params[0] + params[1]}`),
  });
  const r1 = await app.fetch(new Request("http://x/r/abc/4"));
  assert.equal(await r1.text(), "7");
  const r2 = await app.fetch(new Request("http://x/a/2024/yes"));
  assert.equal(await r2.text(), "2024 true");
  const r3 = await app.fetch(new Request("http://x/k/2/3"));
  assert.equal(await r3.text(), "5");
});

Deno.test("DispatcherApp types: any() gives the union of its alternatives", async () => {
  const app = new DispatcherApp();
  const page = app.match(
    "/<w:any('about', \"help\")>.html",
    "GET",
    (_req, { w }) => {
      expectType<Equal<typeof w, "about" | "help">>();
      const titles: Record<typeof w, string> = { about: "About", help: "Help" };
      return new Response(titles[w]);
    },
  );
  const r = await app.fetch(new Request("http://x/help.html"));
  assert.equal(await r.text(), "Help");
  assert.equal(page.path({ w: "about" }), "/about.html");
  assert.equal(page.url({ w: "help" }, { host: "h" }), "http://h/help.html");
  const mistakes = [
    // @ts-expect-error: not an alternative.
    () => page.path({ w: "contact" }),
    // @ts-expect-error: not an alternative.
    () => page.url({ w: "Help" }, { host: "h" }),
    // @ts-expect-error: any string is not an alternative.
    () => page.path({ w: String("about") }),
  ];
  // The first two are refused at run time too.
  assert.throws(mistakes[0]);
  assert.throws(mistakes[1]);
  assert.equal(mistakes[2](), "/about.html");
});

Deno.test("DispatcherApp types: url() and path() check params at compile time", () => {
  const app = new DispatcherApp({ converters: { year } });
  const post = app.match(
    "/posts/<id:int>/<slug:unicode>",
    "GET",
    () => new Response(""),
  );
  const archive = app.match("/archive/<y:year>", "GET", () => new Response(""));
  const pair = app.match("/p/<:int>/<:int>", "GET", () => new Response(""));
  const home = app.match("/", "GET", () => new Response(""));

  assert.equal(post.path({ id: 1, slug: "a" }), "/posts/1/a");
  assert.equal(
    archive.path({ y: new Date(Date.UTC(2024, 0)) }),
    "/archive/2024",
  );
  assert.equal(pair.path({ 0: 1, 1: 2 }), "/p/1/2");
  assert.equal(home.path(), "/");
  assert.equal(home.url(undefined, { host: "h" }), "http://h/");

  const mistakes = [
    // @ts-expect-error: a string where an int goes.
    () => post.path({ id: "1", slug: "a" }),
    // @ts-expect-error: a param is missing.
    () => post.path({ id: 1 }),
    // @ts-expect-error: params are required when the pattern has some.
    () => post.path(),
    // @ts-expect-error: a misspelt param.
    () => post.url({ idd: 1, slug: "a" }, { host: "h" }),
    // @ts-expect-error: an unknown option.
    () => post.url({ id: 1, slug: "a" }, { hots: "h" }),
    // @ts-expect-error: a custom converter's own type.
    () => archive.path({ y: 2024 }),
    // @ts-expect-error: anonymous params are numbered.
    () => pair.path({ 0: 1 }),
  ];
  // Each mistake is also refused at run time.
  for (const mistake of mistakes) assert.throws(mistake);
});

Deno.test("DispatcherApp types: handlers that link to each other declare their return type", async () => {
  const app = new DispatcherApp();
  // Without `: Response`, TypeScript reports a circular inference here.
  const list = app.match(
    "/items",
    "GET",
    (): Response => new Response(show.path({ id: 1 })),
  );
  const show = app.match(
    "/items/<id:int>",
    "GET",
    (): Response => new Response(list.path()),
  );
  const response = await app.fetch(new Request("http://x/items"));
  assert.equal(await response.text(), "/items/1");
});
