import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BUILTIN_CONVERTERS,
  type Converter,
  currentRequest,
  DispatcherApp,
  HttpError,
  NamedRouteNotFound,
  Request,
  Response,
  URLGenerationError,
} from "@pesto/pesto";
import { even } from "./_converters.ts";

const ok = (text = "ok") => () => new Response(text);
const get = (app: DispatcherApp, path: string, init?: RequestInit) =>
  app.fetch(new globalThis.Request(`http://x.test${path}`, init));

/** A route whose `path()` takes anything, to test what it refuses. */
const untyped = (route: object) =>
  route as unknown as { path(params: unknown): string };

/** Asserts that `run` throws a `kind` whose message matches `message`. */
function throwsWith(
  run: () => unknown,
  kind: typeof Error,
  message: RegExp,
): void {
  assert.throws(run, (error) => {
    assert.ok(error instanceof kind, String(error));
    assert.match(error.message, message);
    return true;
  });
}

/** The status and body of a request to `app`. */
async function call(
  app: DispatcherApp,
  path: string,
  method = "GET",
): Promise<[number, string]> {
  const response = await get(app, path, { method });
  return [response.status, await response.text()];
}

/** An app that answers each route with its params as JSON. */
function echoApp(
  patterns: string[],
  // deno-lint-ignore no-explicit-any
  converters?: Record<string, Converter<any>>,
): DispatcherApp {
  const app = new DispatcherApp({ converters });
  for (const pattern of patterns) {
    app.match(
      pattern,
      "GET",
      (_req, params) =>
        new Response(JSON.stringify({ pattern, params }), {
          contentType: "application/json",
        }),
    );
  }
  return app;
}

async function echo(
  app: DispatcherApp,
  path: string,
): Promise<{ pattern: string; params: unknown } | number> {
  const response = await get(app, path);
  if (response.status !== 200) {
    await response.body?.cancel();
    return response.status;
  }
  return await response.json();
}

Deno.test("DispatcherApp.match() parses the placeholder grammar", async (t) => {
  const cases: [string, string, unknown][] = [
    ["/posts/<id:int>", "/posts/42", { id: 42 }],
    ["/posts/<id:int>", "/posts/-7", { id: -7 }],
    ["/posts/<id:int>", "/posts/+5", { id: 5 }],
    ["/posts/<id:int>", "/posts/007", { id: 7 }],
    ["/r/<name:unicode>", "/r/caf%C3%A9", { name: "café" }],
    ["/r/<name:unicode>", "/r/a%2Fb", { name: "a/b" }],
    ["/r/<name:unicode>", "/r/a%20b", { name: "a b" }],
    ["/f/<x:float>", "/f/1.5", { x: 1.5 }],
    ["/f/<x:float>", "/f/-2e3", { x: -2000 }],
    ["/f/<x:float>", "/f/.5", { x: 0.5 }],
    [
      "/u/<id:uuid>",
      "/u/0B8F6C48-8D3A-4B1E-9E5A-2C1D3E4F5A6B",
      { id: "0b8f6c48-8d3a-4b1e-9e5a-2c1d3e4f5a6b" },
    ],
    ["/<page:any('about', 'help')>.html", "/help.html", { page: "help" }],
    ['/<page:any("about","help")>.html', "/about.html", { page: "about" }],
    ["/<page:any('it\\'s')>", "/it's", { page: "it's" }],
    ["/<p:any('a b', 'c/d')>", "/c%2Fd", { p: "c/d" }],
    ["/<p:any('a b', 'c/d')>", "/a%20b", { p: "a b" }],
    [
      "/documents/<dir:path>/<name:unicode>.pdf",
      "/documents/all/2008/report.pdf",
      { dir: "all/2008", name: "report" },
    ],
    ["/files/<p:path>", "/files/a/b%20c/d", { p: "a/b c/d" }],
    ["/files/<p:path>", "/files/a/b/", { p: "a/b/" }],
    ["/y/<:int>/<:int>", "/y/2024/12", { 0: 2024, 1: 12 }],
    ["/y/<:int>/<name:unicode>", "/y/1/x", { 0: 1, name: "x" }],
    ["/s/<slug:unicode('[a-z-]+')>", "/s/pesto-genovese", {
      slug: "pesto-genovese",
    }],
    ["/a/<y:int('\\d{4}')>", "/a/2024", { y: 2024 }],
    ["/a/<y:int(r'\\d{4}')>", "/a/1999", { y: 1999 }],
    ["/v<n:int>/items", "/v2/items", { n: 2 }],
    ["/<a:int>-<b:int>", "/3-4", { a: 3, b: 4 }],
    ["/caf\u00e9/<x:unicode>", "/caf%C3%A9/1", { x: "1" }],
    ["/100%/<x:unicode>", "/100%25/1", { x: "1" }],
    ["/a b/<x:unicode>", "/a%20b/1", { x: "1" }],
    ["/", "/", {}],
  ];
  for (const [pattern, path, params] of cases) {
    await t.step(`${pattern} matches ${path}`, async () => {
      assert.deepEqual(await echo(echoApp([pattern]), path), {
        pattern,
        params,
      });
    });
  }
});

Deno.test("DispatcherApp.match() does not match what the converters refuse", async (t) => {
  const cases: [string, string][] = [
    ["/posts/<id:int>", "/posts/abc"],
    ["/posts/<id:int>", "/posts/1.5"],
    ["/posts/<id:int>", "/posts/99999999999999999999"],
    ["/posts/<id:int>", "/posts/"],
    ["/f/<x:float>", "/f/1e999"],
    ["/f/<x:float>", "/f/NaN"],
    ["/u/<id:uuid>", "/u/0b8f6c48"],
    ["/<page:any('about', 'help')>.html", "/other.html"],
    ["/<page:any('about', 'help')>.html", "/about.htm"],
    ["/<page:any('about', 'help')>.html", "/aboutXhtml"],
    ["/r/<name:unicode>", "/r/a/b"],
    ["/r/<name:unicode>", "/r/"],
    ["/files/<p:path>", "/files/"],
    ["/files/<p:path>", "/files"],
    ["/s/<slug:unicode('[a-z-]+')>", "/s/Pesto"],
    ["/a/<y:int('\\d{4}')>", "/a/20245"],
    ["/caf\u00e9", "/cafe"],
    ["/Status", "/status"],
  ];
  for (const [pattern, path] of cases) {
    await t.step(`${pattern} does not match ${path}`, async () => {
      assert.equal(await echo(echoApp([pattern]), path), 404);
    });
  }
});

Deno.test("DispatcherApp.match() throws at registration for bad patterns", async (t) => {
  const cases: [string, typeof Error, RegExp][] = [
    ["/a/<id:int", SyntaxError, /"\/a\/<id:int": missing ">"/],
    ["/a/<id>", SyntaxError, /needs ":converter"/],
    ["/a/<id:>", SyntaxError, /no converter name/],
    ["/a/<:>", SyntaxError, /no converter name/],
    ["/a/<id:int)>", SyntaxError, /unexpected "\)"/],
    ["/a/>", SyntaxError, /unexpected ">"/],
    ["a/<id:int>", SyntaxError, /must start with "\/"/],
    [
      "/a/<id:intt>",
      TypeError,
      /"\/a\/<id:intt>": converter "intt" is not registered/,
    ],
    ["/a/<id:toString>", TypeError, /converter "toString" is not registered/],
    [
      "/a/<int:id>",
      TypeError,
      /converter "id" is not registered; did you mean "<id:int>"\?$/,
    ],
    [
      "/a/<path:rest>",
      TypeError,
      /converter "rest" is not registered; did you mean "<rest:path>"\?$/,
    ],
    // No hint when the name is not a converter, or arguments follow.
    ["/a/<id:integer>", TypeError, /converter "integer" is not registered$/],
    ["/a/<int:id('x')>", TypeError, /converter "id" is not registered$/],
    ["/a/<x:unicode('(a|b)')>", TypeError, /capturing groups/],
    ["/a/<x:unicode('(?<n>a)')>", TypeError, /capturing groups/],
    ["/a/<x:unicode('[a-')>", TypeError, /invalid regex/],
    ["/a/<x:unicode('')>", TypeError, /empty regex/],
    ["/a/<x:unicode('a', 'b')>", TypeError, /takes one argument/],
    ["/a/<x:unicode(a)>", SyntaxError, /must be quoted strings/],
    ["/a/<x:unicode('a)>", SyntaxError, /unterminated string/],
    ["/a/<x:unicode('a' 'b')>", SyntaxError, /expected "," or "\)"/],
    ["/a/<x:any>", TypeError, /converter "any" needs arguments/],
    ["/a/<x:any()>", TypeError, /at least one alternative/],
    ["/a/<x:any('a', '')>", TypeError, /empty alternative/],
    ["/a/<x:int>/<x:int>", SyntaxError, /name "x" is used twice/],
    ["/a/<__proto__:int>", SyntaxError, /reserved/],
    ["/a//b", SyntaxError, /empty segment/],
    ["/a/./b", SyntaxError, /"\." segment/],
    ["/a/../b", SyntaxError, /"\.\." segment/],
    ["/a/<p:path>//b", SyntaxError, /empty segment/],
  ];
  for (const [pattern, kind, message] of cases) {
    await t.step(`${pattern} throws ${kind.name}`, () => {
      const app = new DispatcherApp();
      assert.throws(() => app.match(pattern, "GET", ok()), (error) => {
        assert.ok(error instanceof kind, String(error));
        assert.match((error as Error).message, message);
        assert.ok(
          (error as Error).message.includes(`"${pattern}"`),
          (error as Error).message,
        );
        return true;
      });
    });
  }
});

Deno.test("DispatcherApp.match() refuses unreachable duplicate routes", async (t) => {
  await t.step("the same pattern and method", () => {
    const app = new DispatcherApp();
    app.match("/a/<id:int>", ["GET", "POST"], ok());
    assert.throws(
      () => app.match("/a/<id:int>", "POST", ok()),
      /Cannot route "\/a\/<id:int>": it is already routed for POST/,
    );
  });
  await t.step("the same shape under other names", () => {
    const app = new DispatcherApp();
    app.match("/a/<id:int>", "GET", ok());
    assert.throws(
      () => app.match("/a/<n:int>", "GET", ok()),
      /"\/a\/<id:int>" is already routed for GET/,
    );
  });
  await t.step("a route with a predicate behind one without", () => {
    const app = new DispatcherApp();
    app.match("/a", "GET", ok());
    assert.throws(
      () => app.match("/a", "GET", ok(), { predicate: () => true }),
      TypeError,
    );
  });
  await t.step("allowed: other methods, predicates, other converters", () => {
    const app = new DispatcherApp();
    app.match("/a", "GET", ok(), { predicate: () => false });
    app.match("/a", "GET", ok());
    app.match("/a", "POST", ok());
    app.match("/b/<x:int>", "GET", ok());
    app.match("/b/<x:unicode>", "GET", ok());
    app.match("/c/<x:any('a')>", "GET", ok());
    app.match("/c/<x:any('b')>", "GET", ok());
    assert.equal(app.routes().length, 7);
  });
});

/** A route registered first, then maybe more, as `[pattern, methods, options]`. */
type Routed = [string, string | string[], { predicate?: () => boolean }?];

const year: Converter<number> = {
  pattern: "\\d{4}",
  parse: Number,
  format: (value) => String(value),
};

Deno.test("DispatcherApp.match() refuses a route that an earlier one makes unreachable", async (t) => {
  await t.step(
    "the message names both patterns, the methods and the fix",
    () => {
      const app = new DispatcherApp();
      app.match("/recipes/<recipe:unicode>", "GET", ok());
      throwsWith(
        () => app.match("/recipes/new", "GET", ok()),
        TypeError,
        /^Cannot route "\/recipes\/new": "\/recipes\/<recipe:unicode>" \(registered earlier for GET\) matches every path it matches; register "\/recipes\/new" first$/,
      );
      assert.deepEqual(app.routes().map((r) => r.pattern), [
        "/recipes/<recipe:unicode>",
      ]);
    },
  );
  // [earlier routes, the refused route, its methods]
  const cases: [Routed[], string, string | string[]][] = [
    // A literal route after a placeholder route that matches its path.
    [[["/files/<p:path>", "GET"]], "/files/readme", "GET"],
    [[["/files/<p:path>", "GET"]], "/files/a/b.txt", "GET"],
    [[["/n/<x:int>", "GET"]], "/n/42", "GET"],
    [[["/n/<x:float>", "GET"]], "/n/2.5", "GET"],
    [
      [["/u/<x:uuid>", "GET"]],
      "/u/0b8f6c48-8d3a-4b1e-9e5a-2c1d3e4f5a6b",
      "GET",
    ],
    [[["/<page:any('a', 'b')>.html", "GET"]], "/b.html", "GET"],
    [[["/<name:unicode>.html", "GET"]], "/about.html", "GET"],
    [[["/a/<x:unicode('[a-z]+')>", "GET"]], "/a/new", "GET"],
    [
      [["/docs/<dir:path>/<name:unicode>.pdf", "GET"]],
      "/docs/2024/q1/r.pdf",
      "GET",
    ],
    [[["/caf\u00e9/<x:unicode>", "GET"]], "/caf\u00e9/cr\u00e8me", "GET"],
    // Every segment taken at its place by a literal or a built-in converter.
    [[["/n/<x:unicode>", "GET"]], "/n/<id:int>", "GET"],
    [[["/n/<x:unicode>", "GET"]], "/n/<id:uuid>", "GET"],
    [[["/n/<x:unicode>", "GET"]], "/n/<w:any('a', 'b')>", "GET"],
    [[["/n/<x:unicode>", "GET"]], "/n/<w:unicode('[a-z]+')>", "GET"],
    [[["/n/<x:unicode>", "GET"]], "/n/v<n:int>.<m:int>", "GET"],
    [[["/n/<x:float>", "GET"]], "/n/<id:int>", "GET"],
    [[["/n/<x:any('a', 'b', 'c')>", "GET"]], "/n/<w:any('c', 'a')>", "GET"],
    [[["/a/<x:unicode>/<y:int>", "GET"]], "/a/b/<z:int>", "GET"],
    [[["/<name:unicode>.html", "GET"]], "/<n:int>.html", "GET"],
    [[["/<name:unicode>.html", "GET"]], "/<n:int>.tar.html", "GET"],
    [[["/<name:unicode>.html", "GET"]], "/<page:any('a', 'b')>.html", "GET"],
    [[["/v<n:unicode>/x", "GET"]], "/v<m:int>/x", "GET"],
    // `path` spans segments: anything under it, between its literal text.
    [[["/files/<p:path>", "GET"]], "/files/<d:unicode>/<n:int>.txt", "GET"],
    [[["/files/<p:path>", "GET"]], "/files/<q:path>/edit", "GET"],
    [[["/files/<p:path>", "GET"]], "/files/<x:any('a', 'b')>/<q:path>", "GET"],
    [[["/files/<p:path>/edit", "GET"]], "/files/<d:unicode>/edit", "GET"],
    [[["/files/<p:path>/edit", "GET"]], "/files/a/<q:path>/edit", "GET"],
    [[["/x<p:path>", "GET"]], "/xyz/<n:int>", "GET"],
    [[["/<p:path>", "GET"]], "/<x:unicode>/", "GET"],
    [[["/<s:unicode>/<p:path>", "GET"]], "/docs/<n:int>/<q:path>", "GET"],
    // Anonymous placeholders are placeholders like the others.
    [[["/y/<:unicode>", "GET"]], "/y/new", "GET"],
    [[["/y/<:unicode>/<:int>", "GET"]], "/y/<a:int>/<:int>", "GET"],
    // One converter takes what it takes, a custom one too.
    [[["/y/<v:year>/<s:unicode>", "GET"]], "/y/<w:year>/new", "GET"],
    // Methods: any one of them shared, HEAD counting as GET.
    [[["/m/<x:unicode>", ["GET", "POST"]]], "/m/new", ["PUT", "POST"]],
    [[["/m/<x:unicode>", "GET"]], "/m/new", "HEAD"],
    // A predicate on the later route does not help it.
    [[["/p/<x:unicode>", "GET"]], "/p/new", "GET"],
    // Behind routes that do not match it, or have a predicate.
    [
      [
        ["/q/new", "POST"],
        ["/q/<x:unicode>", "GET", { predicate: () => true }],
        ["/q/<x:int>", "GET"],
        ["/q/<x:unicode>", "GET"],
      ],
      "/q/new",
      "GET",
    ],
  ];
  for (const [earlier, pattern, methods] of cases) {
    await t.step(
      `${pattern} after ${earlier.map((e) => e[0]).join(", ")}`,
      () => {
        const app = new DispatcherApp({ converters: { year } });
        for (const [p, m, options] of earlier) app.match(p, m, ok(), options);
        const blocker = earlier.at(-1)![0];
        const options = pattern === "/p/new" ? { predicate: () => true } : {};
        throwsWith(
          () => app.match(pattern, methods, ok(), options),
          TypeError,
          new RegExp(
            `^Cannot route "${escape(pattern)}": "${
              escape(blocker)
            }" \\(registered earlier for .+\\) matches every path it matches; register "${
              escape(pattern)
            }" first$`,
          ),
        );
        assert.equal(app.routes().length, earlier.length);
      },
    );
  }
  await t.step("the methods named are those of the earlier route", () => {
    const app = new DispatcherApp();
    app.match("/m/<x:unicode>", ["GET", "POST", "DELETE"], ok());
    throwsWith(
      () => app.match("/m/new", ["PUT", "POST", "DELETE"], ok()),
      TypeError,
      /\(registered earlier for POST, DELETE\)/,
    );
    throwsWith(
      () => app.match("/m/new", "HEAD", ok()),
      TypeError,
      /\(registered earlier for GET, which answers HEAD\)/,
    );
    // The same pattern for HEAD behind GET is a duplicate.
    throwsWith(
      () => app.match("/m/<y:unicode>", "head", ok()),
      TypeError,
      /"\/m\/<x:unicode>" is already routed for GET, which answers HEAD$/,
    );
  });
  await t.step("the prefix is part of both patterns", () => {
    const app = new DispatcherApp({ prefix: "/api" });
    app.match("/items/<id:unicode>", "GET", ok());
    throwsWith(
      () => app.match("/items/new", "GET", ok()),
      TypeError,
      /^Cannot route "\/api\/items\/new": "\/api\/items\/<id:unicode>" \(registered earlier for GET\)/,
    );
  });
  await t.step("an any() with too many alternatives to spell out", () => {
    const many = Array.from({ length: 70 }, (_, i) => `'v${i}'`).join(", ");
    const app = new DispatcherApp();
    app.match("/a/<x:unicode('[a-z0-9]+')>", "GET", ok());
    app.match("/b/<x:int>", "GET", ok());
    throwsWith(
      () => app.match(`/a/<y:any(${many})>`, "GET", ok()),
      TypeError,
      /matches every path it matches/,
    );
    // Not all of them are ints: allowed.
    app.match(`/b/<y:any('1', ${many})>`, "GET", ok());
    assert.equal(app.routes().length, 3);
  });
});

/** Escapes text for a RegExp. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

Deno.test("DispatcherApp.match() allows what it cannot prove unreachable", async (t) => {
  // [earlier routes, the later route, its methods, a path, its answer]
  const cases: [Routed[], string, string | string[], string, string?][] = [
    // The specific route first.
    [
      [["/recipes/new", "GET"]],
      "/recipes/<recipe:unicode>",
      "GET",
      "/recipes/toast",
    ],
    [[["/files/readme", "GET"]], "/files/<p:path>", "GET", "/files/a/b"],
    [[["/n/<id:int>", "GET"]], "/n/<x:unicode>", "GET", "/n/x"],
    [[["/n/<id:int>", "GET"]], "/n/<x:float>", "GET", "/n/1.5"],
    [
      [["/n/<id:int>", "GET"]],
      "/n/<x:uuid>",
      "GET",
      "/n/0b8f6c48-8d3a-4b1e-9e5a-2c1d3e4f5a6b",
    ],
    [[["/a/<x:unicode>", "GET"]], "/a/<p:path>", "GET", "/a/b/c"],
    // Other methods; HEAD does not answer GET.
    [[["/a/<x:unicode>", "GET"]], "/a/new", "POST", "/a/new"],
    [[["/a/<x:unicode>", "HEAD"]], "/a/new", "GET", "/a/new"],
    // A predicate on the earlier route.
    [
      [["/a/<x:unicode>", "GET", { predicate: () => false }]],
      "/a/new",
      "GET",
      "/a/new",
    ],
    // Custom converters are not judged.
    [[["/y/<v:year>", "GET"]], "/y/24", "GET", "/y/24"],
    [[["/y/<v:year>", "GET"]], "/y/<n:int>", "GET", "/y/12"],
    [[["/y/<v:even>", "GET"]], "/y/<n:int>", "GET", "/y/3"],
    [[["/y/<v:even>", "GET"]], "/y/5", "GET", "/y/5"],
    // (Also when the custom converter takes every path of the later route.)
    [[["/y/<v:year>", "GET"]], "/y/1999", "GET", "/y/1999", "earlier"],
    [[["/y/<v:even>", "GET"]], "/y/4", "GET", "/y/4", "earlier"],
    // A trailing slash makes another route.
    [[["/a/<x:unicode>", "GET"]], "/a/<x:unicode>/", "GET", "/a/b/"],
    [[["/a/<x:unicode>/", "GET"]], "/a/<x:unicode>", "GET", "/a/b"],
    [[["/a/<x:unicode>", "GET"]], "/a/new/", "GET", "/a/new/"],
    [[["/f/<p:path>", "GET"]], "/f/", "GET", "/f/"],
    // Anonymous placeholders: int before unicode.
    [[["/y/<:int>", "GET"]], "/y/<:unicode>", "GET", "/y/x"],
    // A regex argument covers only what it matches.
    [[["/a/<x:unicode('[a-z]+')>", "GET"]], "/a/New", "GET", "/a/New"],
    [[["/a/<x:unicode('[a-z]+')>", "GET"]], "/a/<n:int>", "GET", "/a/1"],
    [[["/a/<x:unicode('[a-z]+')>", "GET"]], "/a/<w:unicode>", "GET", "/a/B"],
    [[["/a/<x:int('\\d{4}')>", "GET"]], "/a/<n:int>", "GET", "/a/1"],
    // Literal text and alternatives that differ.
    [[["/<page:any('a', 'b')>.html", "GET"]], "/c.html", "GET", "/c.html"],
    [
      [["/<page:any('a', 'b')>.html", "GET"]],
      "/<p:any('a', 'c')>.html",
      "GET",
      "/c.html",
    ],
    [[["/<name:unicode>.html", "GET"]], "/<n:int>.htm", "GET", "/1.htm"],
    [[["/<name:unicode>.html", "GET"]], "/.html", "GET", "/.html"],
    [[["/v<n:int>", "GET"]], "/<x:unicode>", "GET", "/w1"],
    // Values converters refuse.
    [
      [["/a/<x:int>", "GET"]],
      "/a/99999999999999999999",
      "GET",
      "/a/99999999999999999999",
    ],
    [[["/a/<x:float>", "GET"]], "/a/1e999", "GET", "/a/1e999"],
    // `path` needs text, and its literal text around it.
    [[["/f/<p:path>/edit", "GET"]], "/f/<d:unicode>/view", "GET", "/f/a/view"],
    [[["/f/<p:path>/edit", "GET"]], "/f/<q:path>", "GET", "/f/a"],
    [[["/f/<a:unicode>/<p:path>", "GET"]], "/f/<q:path>", "GET", "/f/a"],
    [[["/f/<p:path>", "GET"]], "/g/<q:path>", "GET", "/g/a"],
    // Several placeholders in a segment: only the same ones are judged
    // (this one is unreachable, but not proved so).
    [
      [["/<a:unicode>-<b:unicode>", "GET"]],
      "/<x:int>-<y:int>",
      "GET",
      "/1-2",
      "earlier",
    ],
  ];
  for (const [earlier, pattern, methods, path, answer = "later"] of cases) {
    await t.step(
      `${pattern} after ${earlier.map((e) => e[0]).join(", ")}`,
      async () => {
        const app = new DispatcherApp({ converters: { year, even } });
        for (const [p, m, options] of earlier) {
          app.match(p, m, ok("earlier"), options);
        }
        app.match(pattern, methods, ok("later"));
        const method = typeof methods === "string" ? methods : methods[0];
        assert.deepEqual(await call(app, path, method), [200, answer]);
      },
    );
  }
});

Deno.test("new DispatcherApp() takes a converter pattern as a RegExp without flags", async (t) => {
  await t.step("its source is used", async () => {
    const app = new DispatcherApp({
      converters: {
        year: { pattern: /\d{4}/, parse: Number, format: String },
        word: {
          pattern: /[a-z]+/,
          parse: (text: string) => text,
          format: String,
          withArgs: (max: string) => ({
            pattern: new RegExp(`[a-z]{1,${Number(max)}}`),
            parse: (text: string) => text,
            format: String,
          }),
        },
      },
    });
    const route = app.match(
      "/<y:year>/<w:word>/<s:word('2')>",
      "GET",
      (_req, { y, w, s }) => new Response(`${y + 1} ${w} ${s}`),
    );
    assert.deepEqual(await call(app, "/2024/ab/cd"), [200, "2025 ab cd"]);
    assert.equal((await call(app, "/24/ab/cd"))[0], 404);
    assert.equal((await call(app, "/2024/ab/cde"))[0], 404);
    assert.equal(route.path({ y: 1999, w: "x", s: "y" }), "/1999/x/y");
    throwsWith(
      () => route.path({ y: 1, w: "x", s: "y" }),
      URLGenerationError as typeof Error,
      /does not match <y:year>/,
    );
    // The converter given is kept as it is.
    const strict = new DispatcherApp({
      converters: { int: { ...BUILTIN_CONVERTERS.int, pattern: /[1-9]\d*/ } },
    });
    strict.match("/n/<n:int>", "GET", (_req, { n }) => new Response(`${n}`));
    assert.equal((await call(strict, "/n/012"))[0], 404);
    assert.deepEqual(await call(strict, "/n/12"), [200, "12"]);
  });
  const cases: [string, () => unknown, RegExp][] = [
    [
      "flags",
      () =>
        new DispatcherApp({
          converters: {
            slug: { pattern: /[a-z]+/i, parse: String, format: String },
          },
        }),
      /^Cannot use converter "slug": its pattern \/\[a-z\]\+\/i has the flags "i", but routes match the source of a RegExp alone: pass it without flags, and write both cases where case does not matter, as in \[A-Za-z\]$/,
    ],
    [
      "flags that change nothing still",
      () =>
        new DispatcherApp({
          converters: {
            n: { pattern: /\d+/gy, parse: Number, format: String },
          },
        }),
      /its pattern \/\\d\+\/gy has the flags "gy", .*: pass it without flags$/,
    ],
    [
      "capturing groups",
      () =>
        new DispatcherApp({
          converters: {
            n: { pattern: /(\d)+/, parse: Number, format: String },
          },
        }),
      /^Cannot use converter "n": regex \/\(\\d\)\+\/ has capturing groups/,
    ],
    [
      "neither a string nor a RegExp",
      () =>
        new DispatcherApp({
          converters: {
            n: { pattern: {} as never, parse: Number, format: String },
          },
        }),
      /^Cannot use converter "n": its pattern is not a string or a RegExp$/,
    ],
    [
      "flags from withArgs()",
      () =>
        new DispatcherApp({
          converters: {
            w: {
              pattern: "[a-z]+",
              parse: String,
              format: String,
              withArgs: () => ({
                pattern: /a/u,
                parse: String,
                format: String,
              }),
            },
          },
        }).match("/<x:w('a')>", "GET", ok()),
      /^Cannot compile route "\/<x:w\('a'\)>": converter "w": its pattern \/a\/u has the flags "u"/,
    ],
  ];
  for (const [what, run, message] of cases) {
    await t.step(what, () => throwsWith(run, TypeError, message));
  }
});

Deno.test("DispatcherApp.match() checks methods, handlers, names and decorators", async (t) => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      "no method",
      () => new DispatcherApp().match("/a", [], ok()),
      /no HTTP method/,
    ],
    [
      "no handlers",
      () => new DispatcherApp().match("/a", {}),
      /no HTTP method/,
    ],
    [
      "bad method",
      () => new DispatcherApp().match("/a", "GE T", ok()),
      /"GE T" is not an HTTP method/,
    ],
    [
      "method twice",
      () => new DispatcherApp().match("/a", ["get", "GET"], ok()),
      /GET is given twice/,
    ],
    [
      "handler not a function",
      () => new DispatcherApp().match("/a", "GET", "x" as never),
      /handler is not a function/,
    ],
    [
      "decorator not a function",
      () =>
        new DispatcherApp().match("/a", "GET", ok(), {
          decorators: [1 as never],
        }),
      /decorator is not a function/,
    ],
    ["name taken", () => {
      const app = new DispatcherApp();
      app.match("/a", "GET", ok(), { name: "a" });
      app.match("/b", "GET", ok(), { name: "a" });
    }, /the name "a" is taken/],
  ];
  for (const [what, run, message] of cases) {
    await t.step(what, () => throwsWith(run, TypeError, message));
  }
});

Deno.test("new DispatcherApp() checks the prefix and the custom converters", async (t) => {
  const good = { pattern: "\\d+", parse: Number, format: String };
  const cases: [string, () => unknown, RegExp][] = [
    [
      "relative prefix",
      () => new DispatcherApp({ prefix: "api" }),
      /must start with "\/"/,
    ],
    [
      "prefix with a placeholder",
      () => new DispatcherApp({ prefix: "/<a:int>" }),
      /no placeholders/,
    ],
    [
      "name not an identifier",
      () => new DispatcherApp({ converters: { "a-b": good } }),
      /"a-b": its name/,
    ],
    [
      "no parse",
      () =>
        new DispatcherApp({
          converters: { x: { pattern: "a", format: String } as never },
        }),
      /parse\(\) and format\(\)/,
    ],
    [
      "capturing group",
      () =>
        new DispatcherApp({
          converters: { x: { ...good, pattern: "(\\d)+" } },
        }),
      /capturing groups/,
    ],
    [
      "bad regex",
      () => new DispatcherApp({ converters: { x: { ...good, pattern: "[" } } }),
      /invalid regex/,
    ],
    [
      "pattern not a string",
      () =>
        new DispatcherApp({
          converters: { x: { ...good, pattern: 1 as never } },
        }),
      /not a string/,
    ],
  ];
  for (const [what, run, message] of cases) {
    await t.step(what, () => throwsWith(run, TypeError, message));
  }
});

Deno.test("DispatcherApp: custom converters are per app, typed by their definition", async () => {
  const year: Converter<number> = {
    pattern: "\\d{4}",
    parse: (text) => Number(text),
    format: (value) => String(value).padStart(4, "0"),
  };
  const slug: Converter<string> = {
    pattern: "[a-z0-9-]+",
    parse: (text) => text,
    format: (value) => value.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
  };
  const app = new DispatcherApp({ converters: { year, slug } });
  const route = app.match(
    "/archive/<y:year>/<s:slug>",
    "GET",
    (_req, { y, s }) => new Response(`${y + 1} ${s.length}`),
  );
  assert.deepEqual(await call(app, "/archive/2024/hello"), [200, "2025 5"]);
  assert.equal(
    route.path({ y: 999, s: "Hello World" }),
    "/archive/0999/hello-world",
  );
  assert.throws(
    () => new DispatcherApp().match("/archive/<y:year>", "GET", ok()),
    /converter "year" is not registered/,
  );
  // A custom converter may replace a built-in one, in its app only.
  const strict = new DispatcherApp({
    converters: { int: { ...BUILTIN_CONVERTERS.int, pattern: "[1-9]\\d*" } },
  });
  strict.match("/n/<n:int>", "GET", (_req, { n }) => new Response(`${n}`));
  assert.deepEqual(await call(strict, "/n/012"), [
    404,
    await Response.notFound().text(),
  ]);
  assert.deepEqual(await call(strict, "/n/12"), [200, "12"]);
});

Deno.test("BUILTIN_CONVERTERS.int.parse() reads safe signed integers only", async (t) => {
  const good: [string, number][] = [
    ["0", 0],
    ["-0", 0],
    ["+12", 12],
    ["007", 7],
    ["9007199254740991", Number.MAX_SAFE_INTEGER],
    ["-9007199254740991", -Number.MAX_SAFE_INTEGER],
  ];
  for (const [text, value] of good) {
    await t.step(`${text} is ${value}`, () => {
      assert.ok(Object.is(BUILTIN_CONVERTERS.int.parse(text), value));
    });
  }
  const bad = [
    "",
    "+",
    "-",
    "1e3",
    " 1",
    "1.0",
    "0x10",
    "9007199254740992",
    "99999999999999999999",
  ];
  for (const text of bad) {
    await t.step(`${JSON.stringify(text)} is refused`, () => {
      assert.throws(() => BUILTIN_CONVERTERS.int.parse(text), RangeError);
    });
  }
});

Deno.test("DispatcherApp: a converter whose parse throws means no match", async () => {
  const app = new DispatcherApp({ converters: { even } });
  app.match("/n/<n:even>", "GET", ok("even"));
  app.match("/n/<n:int>", "GET", ok("int"));
  assert.deepEqual(await call(app, "/n/4"), [200, "even"]);
  assert.deepEqual(await call(app, "/n/3"), [200, "int"]);
});

Deno.test("DispatcherApp: the first registered route that matches wins", async (t) => {
  await t.step("a dynamic route before a static one", async () => {
    const app = new DispatcherApp();
    // Without a predicate, the static route would be refused as unreachable.
    const mine = (request: Request) => request.headers.get("x-mine") !== null;
    app.match("/users/<name:unicode>", "GET", ok("dynamic"), {
      predicate: (request) => !mine(request),
    });
    app.match("/users/me", "GET", ok("static"));
    assert.deepEqual(await call(app, "/users/me"), [200, "dynamic"]);
    const response = await get(app, "/users/me", { headers: { "x-mine": "" } });
    assert.equal(await response.text(), "static");
  });
  await t.step("a static route before a dynamic one", async () => {
    const app = new DispatcherApp();
    app.match("/users/me", "GET", ok("static"));
    app.match("/users/<name:unicode>", "GET", ok("dynamic"));
    assert.deepEqual(await call(app, "/users/me"), [200, "static"]);
    assert.deepEqual(await call(app, "/users/you"), [200, "dynamic"]);
  });
  await t.step("a path route before deeper routes", async () => {
    const app = new DispatcherApp();
    app.match("/a/<p:path>", "GET", ok("path"), { predicate: () => true });
    app.match("/a/b/<c:int>", "GET", ok("int"));
    assert.deepEqual(await call(app, "/a/b/1"), [200, "path"]);
  });
  await t.step("an int route before a unicode one", async () => {
    const app = new DispatcherApp();
    app.match("/n/<n:int>", "GET", ok("int"));
    app.match("/n/<s:unicode>", "GET", ok("unicode"));
    assert.deepEqual(await call(app, "/n/1"), [200, "int"]);
    assert.deepEqual(await call(app, "/n/one"), [200, "unicode"]);
  });
  await t.step("routes added after the first request", async () => {
    const app = new DispatcherApp();
    app.match("/x/<n:int>", "GET", ok("int"));
    assert.deepEqual(await call(app, "/x/y"), [
      404,
      await Response.notFound().text(),
    ]);
    app.match("/x/<s:unicode>", "GET", ok("unicode"));
    assert.deepEqual(await call(app, "/x/y"), [200, "unicode"]);
    assert.deepEqual(await call(app, "/x/1"), [200, "int"]);
  });
});

Deno.test("DispatcherApp: /foo and /foo/ are different routes", async () => {
  const app = new DispatcherApp();
  app.match("/foo", "GET", ok("no slash"));
  app.match("/foo/", "GET", ok("slash"));
  app.match("/bar/", "GET", ok("bar"));
  assert.deepEqual(await call(app, "/foo"), [200, "no slash"]);
  assert.deepEqual(await call(app, "/foo/"), [200, "slash"]);
  assert.equal((await call(app, "/bar"))[0], 404);
  assert.deepEqual(await call(app, "/bar/"), [200, "bar"]);
});

Deno.test("DispatcherApp: paths are normalised without a redirect", async (t) => {
  const app = new DispatcherApp();
  app.match("/a/b", "GET", ok("ab"));
  app.match("/a/b/", "GET", ok("ab/"));
  app.match("/r/<x:unicode>", "GET", (_req, { x }) => new Response(x));
  const cases: [string, [number, string]][] = [
    ["//a//b", [200, "ab"]],
    ["/a/./b", [200, "ab"]],
    ["/a/c/../b", [200, "ab"]],
    ["/a/b////", [200, "ab/"]],
    ["/a/%62", [200, "ab"]],
    ["/r/%7e", [200, "~"]],
    ["/r/a%2Fb", [200, "a/b"]],
    ["/r/a%2fb", [200, "a/b"]],
  ];
  for (const [path, expected] of cases) {
    await t.step(path, async () => {
      assert.deepEqual(await call(app, path), expected);
    });
  }
  await t.step("a bad escape is a 400", async () => {
    assert.equal((await call(app, "/r/%zz"))[0], 400);
    assert.equal((await call(app, "/r/%C3"))[0], 400);
  });
});

Deno.test("DispatcherApp: %2F inside a value never splits segments", async () => {
  const app = echoApp([
    "/a/<x:unicode>/<y:unicode>",
    "/a/<x:unicode>",
    "/p/<x:path>/end",
  ]);
  assert.deepEqual(await echo(app, "/a/b%2Fc"), {
    pattern: "/a/<x:unicode>",
    params: { x: "b/c" },
  });
  assert.deepEqual(await echo(app, "/a/b/c"), {
    pattern: "/a/<x:unicode>/<y:unicode>",
    params: { x: "b", y: "c" },
  });
  assert.deepEqual(await echo(app, "/p/a%2Fb/c/end"), {
    pattern: "/p/<x:path>/end",
    params: { x: "a/b/c" },
  });
});

Deno.test("DispatcherApp: predicates, sync or async, skip a route when false", async (t) => {
  const app = new DispatcherApp();
  app.match("/p", "GET", ok("admin"), {
    predicate: (request) => request.query.get("admin") === "1",
  });
  app.match("/p", "GET", ok("beta"), {
    predicate: async (request) => {
      await Promise.resolve();
      return request.getHeader("x-beta") === "yes";
    },
  });
  app.match("/p", "GET", ok("everyone"));
  app.match("/only", "GET", ok("only"), { predicate: () => false });
  app.match("/only", "POST", ok("post"));
  app.match("/never", "GET", ok(), { predicate: () => false });
  await t.step("the first passing predicate wins", async () => {
    assert.deepEqual(await call(app, "/p?admin=1"), [200, "admin"]);
    const beta = await get(app, "/p", { headers: { "x-beta": "yes" } });
    assert.equal(await beta.text(), "beta");
    assert.deepEqual(await call(app, "/p"), [200, "everyone"]);
  });
  await t.step("a route that fails only its predicate is a 404", async () => {
    assert.equal((await call(app, "/never"))[0], 404);
  });
  await t.step("other methods still give 405", async () => {
    const r = await get(app, "/only");
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "POST");
  });
});

Deno.test("DispatcherApp: decorators [a, b] wrap as a(b(handler)), on that route only", async () => {
  const tag =
    (name: string) =>
    (handler: (request: Request, ...args: unknown[]) => unknown) =>
    async (request: Request, ...args: unknown[]) => {
      const response = await handler(request, ...args) as Response;
      return new Response(`${name}(${await response.text()})`);
    };
  const app = new DispatcherApp();
  const plain = (_req: Request, { n }: { n: number }) => new Response(`${n}`);
  app.match("/d/<n:int>", "GET", plain, {
    decorators: [tag("a") as never, tag("b") as never],
  });
  app.match("/p/<n:int>", "GET", plain);
  assert.deepEqual(await call(app, "/d/1"), [200, "a(b(1))"]);
  assert.deepEqual(await call(app, "/p/1"), [200, "1"]);
});

Deno.test("DispatcherApp: prefix, combine and keyword style", async (t) => {
  const blog = new DispatcherApp({ prefix: "/blog/" });
  const post = blog.match(
    "/<id:int>",
    "GET",
    (_req, { id }) => new Response(`post ${id}`),
    {
      name: "post",
    },
  );
  blog.match("/", {
    GET: () => new Response("index"),
    POST: () => new Response("created", { status: 201 }),
  });
  const app = new DispatcherApp();
  app.match("/", "GET", ok("home"), { name: "home" });
  app.match("/blog/1", "GET", ok("first post"));
  app.match("/posts/<id:int>", "GET", ok("old"), { name: "post" });
  const after = app.combine(blog);
  await t.step("combine returns the app, and appends", async () => {
    assert.equal(after, app);
    assert.deepEqual(await call(app, "/blog/"), [200, "index"]);
    assert.deepEqual(await call(app, "/blog/", "POST"), [201, "created"]);
    assert.deepEqual(await call(app, "/blog/2"), [200, "post 2"]);
    // The app's own route was registered first.
    assert.deepEqual(await call(app, "/blog/1"), [200, "first post"]);
  });
  await t.step("the prefix is part of the pattern", () => {
    assert.equal(post.pattern, "/blog/<id:int>");
    assert.equal(post.path({ id: 3 }), "/blog/3");
  });
  await t.step("names of the app win over combined ones", () => {
    assert.equal(
      app.urlfor("post", { id: 2 }, { host: "h" }),
      "http://h/posts/2",
    );
    assert.equal(app.urlfor("home", {}, { host: "h" }), "http://h/");
  });
  await t.step("routes() lists every route in priority order", () => {
    assert.deepEqual(app.routes(), [
      { methods: ["GET", "HEAD"], pattern: "/", name: "home" },
      { methods: ["GET", "HEAD"], pattern: "/blog/1" },
      { methods: ["GET", "HEAD"], pattern: "/posts/<id:int>", name: "post" },
      { methods: ["GET", "HEAD"], pattern: "/blog/<id:int>", name: "post" },
      { methods: ["GET", "HEAD", "POST"], pattern: "/blog/" },
    ]);
  });
  await t.step("combine refuses other things", () => {
    assert.throws(() => app.combine({} as never), TypeError);
  });
  await t.step(
    "combine refuses a route it would make unreachable, appending nothing",
    () => {
      const site = new DispatcherApp();
      site.match("/blog/<slug:unicode>", "GET", ok());
      const drafts = new DispatcherApp({ prefix: "/drafts" });
      drafts.match("/<id:int>", "GET", ok());
      const news = new DispatcherApp({ prefix: "/blog" });
      news.match("/archive/", "GET", ok());
      news.match("/new", ["GET", "POST"], ok());
      throwsWith(
        () => site.combine(drafts, news),
        TypeError,
        /^Cannot combine "\/blog\/new": "\/blog\/<slug:unicode>" \(registered earlier for GET\) matches every path it matches; register "\/blog\/new" first$/,
      );
      assert.deepEqual(site.routes().map((r) => r.pattern), [
        "/blog/<slug:unicode>",
      ]);
      // Against the routes of the apps combined before it, and duplicates.
      throwsWith(
        () => new DispatcherApp().combine(drafts, drafts),
        TypeError,
        /^Cannot combine "\/drafts\/<id:int>": it is already routed for GET$/,
      );
      const other = new DispatcherApp();
      other.match("/drafts/<x:unicode>", "GET", ok());
      throwsWith(
        () => new DispatcherApp().combine(other, drafts),
        TypeError,
        /^Cannot combine "\/drafts\/<id:int>": "\/drafts\/<x:unicode>" \(registered earlier for GET\)/,
      );
      // The specific routes first, or other methods: combined.
      const fine = new DispatcherApp().combine(news, site, drafts);
      assert.equal(fine.routes().length, 4);
      site.match("/feed/<x:unicode>", "POST", ok());
      const feed = new DispatcherApp({ prefix: "/feed" });
      feed.match("/rss", "GET", ok());
      site.combine(feed);
      assert.equal(site.routes().length, 3);
    },
  );
});

Deno.test("DispatcherApp: HEAD is served by GET, headers kept and no body", async () => {
  const app = new DispatcherApp();
  let calls = 0;
  app.match("/h", "GET", () => {
    calls++;
    return new Response("hello", {
      headers: { "content-length": "5", "x-a": "1" },
    });
  });
  app.match("/own", {
    GET: ok("get"),
    HEAD: () => new Response(null, { status: 204 }),
  });
  const head = await get(app, "/h", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "5");
  assert.equal(head.headers.get("x-a"), "1");
  assert.equal(await head.text(), "");
  assert.equal(calls, 1);
  assert.equal((await get(app, "/own", { method: "HEAD" })).status, 204);
});

Deno.test("DispatcherApp: 404, 405 with a sorted Allow, and OPTIONS", async (t) => {
  const app = new DispatcherApp();
  app.match("/r", ["PUT", "GET"], ok());
  app.match("/r", "DELETE", ok());
  app.match("/o", { OPTIONS: () => new Response("mine"), POST: ok() });
  await t.step("405 lists every routed method, HEAD where GET is", async () => {
    const r = await get(app, "/r", { method: "POST" });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "DELETE, GET, HEAD, PUT");
    await r.body?.cancel();
  });
  await t.step(
    "OPTIONS is answered with Allow when no route has it",
    async () => {
      const r = await get(app, "/r", { method: "OPTIONS" });
      assert.equal(r.status, 204);
      assert.equal(r.headers.get("allow"), "DELETE, GET, HEAD, PUT");
      assert.deepEqual(await call(app, "/o", "OPTIONS"), [200, "mine"]);
    },
  );
  await t.step("404 when no route matches the path, any method", async () => {
    assert.equal((await call(app, "/nope"))[0], 404);
    assert.equal((await call(app, "/nope", "OPTIONS"))[0], 404);
    assert.equal((await call(app, "/nope", "BREW"))[0], 404);
  });
  await t.step("an unknown method on a routed path is a 405", async () => {
    const r = await get(app, "/r", { method: "BREW" });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "DELETE, GET, HEAD, PUT");
    await r.body?.cancel();
  });
  await t.step("request methods are matched case-insensitively", async () => {
    const lower = new DispatcherApp();
    lower.match("/l", "patch", ok("patched"));
    assert.deepEqual(await call(lower, "/l", "PATCH"), [200, "patched"]);
    assert.deepEqual(await call(lower, "/l", "patch"), [200, "patched"]);
  });
});

Deno.test("DispatcherApp: custom notFound and methodNotAllowed handlers", async () => {
  const app = new DispatcherApp({
    notFound: (request) =>
      new Response(`no ${request.pathInfo}`, { status: 404 }),
    methodNotAllowed: (_req, allowed) =>
      new Response(`only ${allowed.join("+")}`, { status: 405 }),
  });
  app.match("/a", ["POST", "GET"], ok());
  assert.deepEqual(await call(app, "/b"), [404, "no /b"]);
  assert.deepEqual(await call(app, "/a", "PUT"), [405, "only GET+HEAD+POST"]);
});

Deno.test("DispatcherApp: handler errors become responses", async () => {
  const app = new DispatcherApp({ onError: () => {} });
  app.match("/teapot", "GET", () => {
    throw new HttpError(418, "I'm a teapot");
  });
  app.match("/boom", "GET", () => {
    throw new Error("secret");
  });
  assert.equal((await call(app, "/teapot"))[0], 418);
  const [status, body] = await call(app, "/boom");
  assert.equal(status, 500);
  assert.doesNotMatch(body, /secret/);
});

Deno.test("DispatcherApp: a malformed Host is a 400 before routing", async () => {
  const app = new DispatcherApp();
  app.match("/", "GET", ok());
  const r = await app.fetch(
    new globalThis.Request("http://x.test/", { headers: { host: "x/admin" } }),
  );
  assert.equal(r.status, 400);
});

Deno.test("DispatcherApp.handle() runs the handler with the current request", async () => {
  const app = new DispatcherApp();
  app.match(
    "/who",
    "GET",
    (request) => new Response(String(currentRequest() === request)),
  );
  const r = await app.handle(new globalThis.Request("http://x/who"));
  assert.equal(await r.text(), "true");
});

Deno.test("Route.path() builds percent-encoded paths", async (t) => {
  const cases: [string, Record<string | number, unknown>, string][] = [
    ["/r/<name:unicode>", { name: "pesto genovese" }, "/r/pesto%20genovese"],
    ["/r/<name:unicode>", { name: "a/b?c#d%" }, "/r/a%2Fb%3Fc%23d%25"],
    ["/r/<name:unicode>", { name: "zoë" }, "/r/zo%C3%AB"],
    ["/r/<name:unicode>", { name: "a:b@c" }, "/r/a:b@c"],
    ["/f/<p:path>", { p: "a b/c" }, "/f/a%20b/c"],
    ["/f/<p:path>", { p: "a/b/" }, "/f/a/b/"],
    ["/n/<n:int>", { n: -3 }, "/n/-3"],
    ["/x/<x:float>", { x: 0.25 }, "/x/0.25"],
    ["/x/<x:float>", { x: -0 }, "/x/0"],
    ["/y/<:int>/<:int>", { 0: 1, 1: 2 }, "/y/1/2"],
    ["/<page:any('about', 'help')>.html", { page: "help" }, "/help.html"],
    [
      "/u/<id:uuid>",
      { id: "0B8F6C48-8D3A-4B1E-9E5A-2C1D3E4F5A6B" },
      "/u/0b8f6c48-8d3a-4b1e-9e5a-2c1d3e4f5a6b",
    ],
    ["/caf\u00e9/<n:int>", { n: 1, extra: "ignored" }, "/caf%C3%A9/1"],
    ["/static", {}, "/static"],
  ];
  for (const [pattern, params, path] of cases) {
    await t.step(`${pattern} with ${JSON.stringify(params)}`, () => {
      const route = new DispatcherApp().match(pattern, "GET", ok());
      assert.equal(untyped(route).path(params), path);
    });
  }
});

Deno.test("Route.path() throws URLGenerationError naming the route and the value", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["/n/<n:int>", {}, /missing value for <n:int>/],
    ["/n/<n:int>", undefined, /missing value for <n:int>/],
    [
      "/n/<n:int>",
      { n: 1.5 },
      /bad value 1.5 for <n:int>: expected a safe integer/,
    ],
    ["/n/<n:int>", { n: "1" }, /bad value "1" for <n:int>/],
    ["/n/<n:int>", { n: 2 ** 60 }, /bad value/],
    ["/f/<x:float>", { x: Infinity }, /bad value Infinity/],
    ["/u/<s:unicode>", { s: "" }, /the value "" does not match <s:unicode>/],
    ["/u/<s:unicode>", { s: "." }, /segments/],
    ["/u/<s:unicode>", { s: ".." }, /segments/],
    ["/u/<s:unicode>", { s: 5 }, /expected a string/],
    ["/u/<s:unicode>", { s: "a\0b" }, /holds a NUL/],
    ["/u/<s:unicode>", { s: "\ud800" }, /not well-formed/],
    ["/p/<p:path>", { p: "a//b" }, /segments/],
    ["/p/<p:path>", { p: "/a" }, /segments/],
    ["/p/<p:path>", { p: "a/../b" }, /segments/],
    [
      "/s/<s:unicode('[a-z]+')>",
      { s: "ABC" },
      /"ABC" does not match <s:unicode\('\[a-z\]\+'\)>/,
    ],
    ["/a/<p:any('x', 'y')>", { p: "z" }, /expected one of x, y/],
    ["/id/<id:uuid>", { id: "nope" }, /expected a UUID/],
  ];
  for (const [pattern, params, message] of cases) {
    await t.step(`${pattern} with ${String(JSON.stringify(params))}`, () => {
      const app = new DispatcherApp();
      const route = app.match(pattern, "GET", ok(), { name: "r" });
      assert.throws(() => untyped(route).path(params), (error) => {
        assert.ok(error instanceof URLGenerationError, String(error));
        assert.match(error.message, message);
        assert.ok(
          error.message.includes(`route "r" ("${pattern}")`),
          error.message,
        );
        return true;
      });
    });
  }
  await t.step("an unnamed route is named by its pattern", () => {
    const route = new DispatcherApp().match("/n/<n:int>", "GET", ok());
    assert.throws(
      () => untyped(route).path({}),
      /Cannot build a URL for route "\/n\/<n:int>": missing value for <n:int>/,
    );
  });
});

Deno.test("Route.url() builds absolute URLs from the current request", async (t) => {
  const app = new DispatcherApp();
  const show = app.match(
    "/r/<name:unicode>",
    "GET",
    (_req, { name }): Response => new Response(show.url({ name: name + "!" })),
    { name: "show" },
  );
  app.match(
    "/opts",
    "GET",
    (): Response =>
      new Response(show.url({ name: "x y" }, {
        query: { q: "a&b", n: "1" },
        fragment: "part 2#",
      })),
  );
  app.match(
    "/named",
    "GET",
    (): Response =>
      new Response(
        app.urlfor("show", { name: "n" }, {
          scheme: "https",
          host: "other.test:8443",
        }),
      ),
  );
  await t.step("scheme and host of the request", async () => {
    const r = await app.fetch(
      new globalThis.Request("https://shop.test:8443/r/a"),
    );
    assert.equal(await r.text(), "https://shop.test:8443/r/a!");
  });
  await t.step("query and fragment", async () => {
    assert.equal(
      (await call(app, "/opts"))[1],
      "http://x.test/r/x%20y?q=a%26b&n=1#part%202%23",
    );
  });
  await t.step("scheme and host overridden", async () => {
    assert.equal((await call(app, "/named"))[1], "https://other.test:8443/r/n");
  });
  await t.step("the script name of the request, or the given one", async () => {
    const request = new Request(
      new globalThis.Request("http://x.test/app/r/a"),
      {
        scriptName: "/app",
      },
    );
    const r = await app.handle(request);
    assert.equal(await r.text(), "http://x.test/app/r/a!");
    assert.equal(
      show.url({ name: "z" }, { host: "h.test", scriptName: "/mount point/" }),
      "http://h.test/mount%20point/r/z",
    );
  });
  await t.step("outside a request, host is needed", () => {
    assert.throws(
      () => show.url({ name: "z" }),
      /Cannot build a URL for route "show" \("\/r\/<name:unicode>"\) outside a request: pass \{ host \}/,
    );
    assert.equal(
      show.url({ name: "z" }, { host: "h.test" }),
      "http://h.test/r/z",
    );
  });
  await t.step("a bad host or scheme is refused", () => {
    assert.throws(
      () => show.url({ name: "z" }, { host: "h/evil" }),
      URLGenerationError,
    );
    assert.throws(
      () => show.url({ name: "z" }, { host: "h", scheme: "ja va" }),
      URLGenerationError,
    );
    assert.throws(
      () => show.url({ name: "z" }, { host: "h", fragment: "\ud800" }),
      URLGenerationError,
    );
  });
});

Deno.test("DispatcherApp.urlfor() throws NamedRouteNotFound for an unknown name", () => {
  const app = new DispatcherApp();
  app.match("/a", "GET", ok(), { name: "a" });
  assert.throws(() => app.urlfor("b", {}, { host: "h" }), (error) => {
    assert.ok(error instanceof NamedRouteNotFound);
    assert.match(error.message, /no route is named "b"/);
    return true;
  });
  assert.throws(() => app.urlfor("a"), URLGenerationError);
  assert.equal(app.urlfor("a", undefined, { host: "h" }), "http://h/a");
});

// ---------------------------------------------------------------------------
// Round trips: match(path(params)) gives params back.

/** Text a one-segment converter can carry: no NUL, no lone surrogate. */
const segmentText = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 })
  .filter((s) => !s.includes("\0") && s !== "." && s !== "..");
/** Text with the characters that need encoding most. */
const trickyText = fc.string({
  unit: fc.constantFrom(
    " ",
    "/",
    "%",
    "?",
    "#",
    "é",
    "日",
    "🍝",
    "a",
    ".",
    "+",
    "&",
    "=",
    ";",
    "\\",
  ),
  minLength: 1,
  maxLength: 8,
}).filter((s) => s !== "." && s !== "..");
const anyText = fc.oneof(segmentText, trickyText);

async function roundTrip(
  app: DispatcherApp,
  route: { path(params: unknown): string },
  params: unknown,
): Promise<unknown> {
  const path = route.path(params);
  const response = await get(app, path);
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return (await response.json()).params;
}

Deno.test("Route.path() round-trips through matching for every converter", async (t) => {
  const app = new DispatcherApp({
    converters: {
      hex: {
        pattern: "[0-9a-f]+",
        parse: (text: string) => parseInt(text, 16),
        format: (value: number) => value.toString(16),
      },
    },
  });
  const echoHandler = (_req: Request, params: unknown) =>
    new Response(JSON.stringify({ params }), {
      contentType: "application/json",
    });
  const routes = {
    int: app.match("/int/<v:int>", "GET", echoHandler),
    float: app.match("/float/<v:float>", "GET", echoHandler),
    unicode: app.match("/unicode/<v:unicode>", "GET", echoHandler),
    mixed: app.match("/mixed/<v:unicode>.html", "GET", echoHandler),
    path: app.match("/path/<v:path>/end", "GET", echoHandler),
    pathTail: app.match("/tail/<v:path>", "GET", echoHandler),
    uuid: app.match("/uuid/<v:uuid>", "GET", echoHandler),
    hex: app.match("/hex/<v:hex>", "GET", echoHandler),
    two: app.match("/two/<a:unicode>/<:int>/<b:unicode>", "GET", echoHandler),
  };
  const runs = { numRuns: 150 };
  await t.step("int", async () => {
    await fc.assert(
      fc.asyncProperty(fc.maxSafeInteger(), async (v) => {
        assert.deepEqual(await roundTrip(app, routes.int, { v }), {
          v: v === 0 ? 0 : v,
        });
      }),
      runs,
    );
  });
  await t.step("float", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        async (v) => {
          assert.deepEqual(await roundTrip(app, routes.float, { v }), {
            v: v === 0 ? 0 : v,
          });
        },
      ),
      runs,
    );
  });
  await t.step("unicode", async () => {
    await fc.assert(
      fc.asyncProperty(anyText, async (v) => {
        assert.deepEqual(await roundTrip(app, routes.unicode, { v }), { v });
      }),
      runs,
    );
  });
  await t.step("unicode with literal text after it", async () => {
    await fc.assert(
      fc.asyncProperty(anyText, async (v) => {
        assert.deepEqual(await roundTrip(app, routes.mixed, { v }), { v });
      }),
      runs,
    );
  });
  const pathValue = fc.array(anyText.filter((s) => !s.includes("/")), {
    minLength: 1,
    maxLength: 4,
  })
    .map((parts) => parts.join("/"));
  await t.step("path", async () => {
    await fc.assert(
      fc.asyncProperty(pathValue, async (v) => {
        assert.deepEqual(await roundTrip(app, routes.path, { v }), { v });
      }),
      runs,
    );
  });
  await t.step(
    "path at the end, with or without a trailing slash",
    async () => {
      await fc.assert(
        fc.asyncProperty(pathValue, fc.boolean(), async (v, slash) => {
          const value = slash ? v + "/" : v;
          assert.deepEqual(
            await roundTrip(app, routes.pathTail, { v: value }),
            { v: value },
          );
        }),
        runs,
      );
    },
  );
  await t.step("any", async () => {
    const alternatives = fc.uniqueArray(anyText, {
      minLength: 1,
      maxLength: 4,
    });
    await fc.assert(
      fc.asyncProperty(alternatives, fc.nat(), async (alts, i) => {
        const local = new DispatcherApp();
        const spec = alts.map((a) =>
          `'${a.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`
        ).join(", ");
        const route = local.match(`/any/<v:any(${spec})>`, "GET", echoHandler);
        const v = alts[i % alts.length];
        assert.deepEqual(await roundTrip(local, route, { v }), { v });
      }),
      runs,
    );
  });
  await t.step("uuid", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uuid(), async (v) => {
        assert.deepEqual(
          await roundTrip(app, routes.uuid, { v: v.toUpperCase() }),
          { v: v.toLowerCase() },
        );
      }),
      runs,
    );
  });
  await t.step("a custom converter", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), async (v) => {
        assert.deepEqual(await roundTrip(app, routes.hex, { v }), { v });
      }),
      runs,
    );
  });
  await t.step("named and anonymous placeholders together", async () => {
    await fc.assert(
      fc.asyncProperty(anyText, fc.integer(), anyText, async (a, n, b) => {
        assert.deepEqual(await roundTrip(app, routes.two, { a, 0: n, b }), {
          a,
          0: n,
          b,
        });
      }),
      runs,
    );
  });
});
