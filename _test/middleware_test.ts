import assert from "node:assert/strict";
import {
  compose,
  conditional,
  DispatcherApp,
  fromFetch,
  type LogEntry,
  logger,
  type Middleware,
  mount,
  overlay,
  Response,
  sessionMiddleware,
  toHandler,
  useXForwarded,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import { Hono } from "hono";
import { etag } from "hono/etag";
import { secureHeaders } from "hono/secure-headers";

/** A fetch handler that echoes what it sees. */
const echo = (name: string) => (request: globalThis.Request) => {
  const url = new URL(request.url);
  return Promise.resolve(
    Response.json({
      name,
      path: url.pathname,
      search: url.search,
      host: request.headers.get("host"),
    }),
  );
};

/** A Pesto app that tells its script name, path info and URIs. */
function whereApp() {
  const app = new DispatcherApp();
  const route = app.match(
    "/where/<rest:path>",
    ["GET", "POST"],
    async (request, { rest }): Promise<Response> =>
      Response.json({
        scriptName: request.scriptName,
        pathInfo: request.pathInfo,
        requestUri: request.requestUri,
        applicationUri: request.applicationUri,
        url: route.url({ rest }),
        body: request.method === "POST" ? await request.text() : null,
      }),
  );
  return app;
}

Deno.test("compose() applies middlewares outermost first", async (t) => {
  const trace =
    (name: string): Middleware => (next) => async (request, info) => {
      const response = await next(request, info);
      response.headers.append("x-trace", name);
      return response;
    };
  await t.step("order", async () => {
    const fetch = compose(trace("outer"), trace("inner"))(() =>
      Promise.resolve(new Response("x"))
    );
    const r = await fetch(new Request("http://x.test/"));
    // The inner middleware sees the response first.
    assert.equal(r.headers.get("x-trace"), "inner, outer");
  });
  await t.step("no middlewares passes requests through", async () => {
    const response = new Response("same");
    const fetch = compose()(() => Promise.resolve(response));
    assert.equal(await fetch(new Request("http://x.test/")), response);
  });
  await t.step(
    "an app object or a synchronous handler is a valid next",
    async () => {
      const app = new DispatcherApp();
      app.match("/", "GET", () => new Response("app"));
      const viaObject = compose(trace("m"))(app);
      assert.equal(
        await (await viaObject(new Request("http://x.test/"))).text(),
        "app",
      );
      const sync = compose(trace("m"))(() => new Response("sync"));
      assert.equal(
        await (await sync(new Request("http://x.test/"))).text(),
        "sync",
      );
    },
  );
  await t.step("a non-function is refused", () => {
    assert.throws(
      () => compose(trace("a"), "b" as unknown as Middleware),
      TypeError,
    );
  });
});

Deno.test("mount() picks the longest prefix on whole segments", async (t) => {
  const fetch = mount({
    "/": echo("root"),
    "/app": echo("app"),
    "/app/admin/": echo("admin"), // a trailing slash is ignored
    "/caffè": echo("coffee"),
  });
  const cases: [string, string, string, string][] = [
    ["/app", "app", "/", ""],
    ["/app/", "app", "/", ""],
    ["/app/x/y?q=1", "app", "/x/y", "?q=1"],
    ["/app/x/", "app", "/x/", ""],
    ["/apple", "root", "/apple", ""],
    ["/app/admin/users", "admin", "/users", ""],
    ["/app/administrator", "app", "/administrator", ""],
    ["/caff%C3%A8/menu", "coffee", "/menu", ""],
    ["/app/a%2Fb/c%20d", "app", "/a%2Fb/c%20d", ""],
    ["/", "root", "/", ""],
    ["/other", "root", "/other", ""],
  ];
  for (const [path, name, seen, search] of cases) {
    await t.step(`${path} → ${name} sees ${seen}`, async () => {
      const r = await fetch(new Request(`http://x.test${path}`));
      const body = await r.json();
      assert.equal(body.name, name);
      assert.equal(body.path, seen);
      assert.equal(body.search, search);
    });
  }
});

Deno.test("mount() answers 404 when nothing matches and 400 for a malformed path", async () => {
  const fetch = mount({ "/a": echo("a") });
  assert.equal((await fetch(new Request("http://x.test/b"))).status, 404);
  assert.equal((await fetch(new Request("http://x.test/a/%zz"))).status, 400);
  assert.equal(
    (await fetch(new Request("http://x.test/a/%C3%28"))).status,
    400,
  );
});

Deno.test("mount() rejects a prefix without a leading slash", () => {
  assert.throws(() => mount({ "app": echo("a") }), TypeError);
  assert.throws(
    () => mount({ "/a": 42 as unknown as Parameters<typeof mount>[0][string] }),
    TypeError,
  );
});

Deno.test("mount() gives a Pesto app its scriptName and pathInfo", async (t) => {
  const app = whereApp();
  await t.step("one level", async () => {
    const client = new TestApp({ fetch: mount({ "/shop": app }) });
    const r = (await client.get("/shop/where/a/b?x=1")).json();
    assert.deepEqual(r, {
      scriptName: "/shop",
      pathInfo: "/where/a/b",
      requestUri: "http://localhost/shop/where/a/b?x=1",
      applicationUri: "http://localhost/shop",
      url: "http://localhost/shop/where/a/b",
      body: null,
    });
  });
  await t.step("nested mounts add up", async () => {
    const client = new TestApp({
      fetch: mount({ "/outer": mount({ "/inner": app }) }),
    });
    const r = (await client.get("/outer/inner/where/x")).json<
      Record<string, string>
    >();
    assert.equal(r.scriptName, "/outer/inner");
    assert.equal(r.pathInfo, "/where/x");
    assert.equal(r.url, "http://localhost/outer/inner/where/x");
  });
  await t.step("a non-ASCII prefix", async () => {
    const client = new TestApp({ fetch: mount({ "/café": app }) });
    const r = (await client.get("/caf%C3%A9/where/x")).json<
      Record<string, string>
    >();
    assert.equal(r.scriptName, "/café");
    assert.equal(r.url, "http://localhost/caf%C3%A9/where/x");
  });
  await t.step("the body goes through", async () => {
    const client = new TestApp({ fetch: mount({ "/shop": app }) });
    const r = (await client.post("/shop/where/p", { body: "payload" })).json<
      Record<string, string>
    >();
    assert.equal(r.body, "payload");
  });
  await t.step("a session from outside the mount is seen inside", async () => {
    const inner = new DispatcherApp();
    inner.match("/n", "POST", (request) => {
      const n = (request.session.get<number>("n") ?? 0) + 1;
      request.session.set("n", n);
      return new Response(String(n));
    });
    const client = new TestApp({
      fetch: compose(sessionMiddleware())(mount({ "/app": inner })),
    });
    await client.post("/app/n");
    assert.equal((await client.post("/app/n")).text, "2");
  });
});

Deno.test("a Hono app mounted under a prefix inside a DispatcherApp", async (t) => {
  const hono = new Hono();
  hono.get(
    "/hello/:name",
    (c) =>
      c.text(`hello ${c.req.param("name")} at ${new URL(c.req.url).pathname}`),
  );
  hono.post("/echo", async (c) => c.json({ got: await c.req.json() }, 201));
  hono.notFound((c) => c.text("hono 404", 404));

  const app = new DispatcherApp();
  app.match("/", "GET", () => new Response("pesto home"));
  app.match(
    "/hono/<rest:path>",
    ["GET", "POST"],
    fromFetch(mount({ "/hono": hono })),
  );
  const client = new TestApp(app);

  await t.step("Hono routes see the path without the prefix", async () => {
    const r = await client.get("/hono/hello/ada");
    assert.equal(r.text, "hello ada at /hello/ada");
  });
  await t.step("a JSON POST reaches Hono", async () => {
    const r = await client.post("/hono/echo", { json: { a: [1, 2] } });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json(), { got: { a: [1, 2] } });
  });
  await t.step("Hono's own 404 comes back", async () => {
    const r = await client.get("/hono/missing");
    assert.equal(r.status, 404);
    assert.equal(r.text, "hono 404");
  });
  await t.step("Pesto routes still work", async () => {
    assert.equal((await client.get("/")).text, "pesto home");
  });
  await t.step(
    "the DispatcherApp itself mounted: Hono still sees its own paths",
    async () => {
      const outer = new TestApp({ fetch: mount({ "/site": app }) });
      assert.equal(
        (await outer.get("/site/hono/hello/bob")).text,
        "hello bob at /hello/bob",
      );
    },
  );
});

Deno.test("a Pesto app wrapped in Hono middlewares", async (t) => {
  const pesto = new DispatcherApp();
  pesto.match(
    "/page",
    "GET",
    (request) => new Response(`<p>page at ${request.pathInfo}</p>`),
  );
  pesto.match("/missing", "GET", () => Response.notFound());

  const hono = new Hono();
  hono.use("*", secureHeaders());
  hono.use("*", etag());
  hono.use("*", async (c, next) => {
    await next();
    c.res.headers.set("X-Wrapped-By", "hono");
  });
  hono.mount("/pesto", pesto.fetch);
  const client = new TestApp(hono);

  await t.step("the Pesto answer carries Hono's headers", async () => {
    const r = await client.get("/pesto/page");
    assert.equal(r.status, 200);
    assert.equal(r.text, "<p>page at /page</p>");
    assert.equal(r.getHeader("x-wrapped-by"), "hono");
    assert.equal(r.getHeader("x-content-type-options"), "nosniff");
    assert.ok(r.getHeader("etag"));
  });
  await t.step("Hono's etag middleware answers 304 over Pesto", async () => {
    const tag = (await client.get("/pesto/page")).getHeader("etag")!;
    const r = await client.get("/pesto/page", {
      headers: { "If-None-Match": tag },
    });
    assert.equal(r.status, 304);
  });
  await t.step("a Pesto 404 stays a 404", async () => {
    assert.equal((await client.get("/pesto/missing")).status, 404);
  });
});

Deno.test("Pesto middlewares wrap a Hono app", async () => {
  const hono = new Hono();
  hono.get("/data", (c) => c.text("data", 200, { ETag: '"d1"' }));
  const client = new TestApp({ fetch: compose(conditional())(hono.fetch) });
  assert.equal((await client.get("/data")).text, "data");
  const r = await client.get("/data", { headers: { "If-None-Match": '"d1"' } });
  assert.equal(r.status, 304);
  assert.equal(r.getHeader("content-type"), undefined);
});

Deno.test("overlay() returns the first answer that is not a 404", async (t) => {
  const calls: string[] = [];
  const app =
    (name: string, path: string) => async (request: globalThis.Request) => {
      calls.push(name);
      const body = request.method === "POST" ? await request.text() : "";
      return new URL(request.url).pathname === path
        ? new Response(`${name}:${body}`)
        : new Response(`${name} 404`, { status: 404 });
    };
  const fetch = overlay(
    app("a", "/a"),
    { fetch: app("b", "/b") },
    app("c", "/c"),
  );
  const cases: [string, number, string, string[]][] = [
    ["/a", 200, "a:", ["a"]],
    ["/b", 200, "b:", ["a", "b"]],
    ["/c", 200, "c:", ["a", "b", "c"]],
    ["/d", 404, "c 404", ["a", "b", "c"]],
  ];
  for (const [path, status, text, tried] of cases) {
    await t.step(path, async () => {
      calls.length = 0;
      const r = await fetch(new Request(`http://x.test${path}`));
      assert.equal(r.status, status);
      assert.equal(await r.text(), text);
      assert.deepEqual(calls, tried);
    });
  }
  await t.step("every app can read the body", async () => {
    const r = await fetch(
      new Request("http://x.test/c", { method: "POST", body: "payload" }),
    );
    assert.equal(await r.text(), "c:payload");
  });
  await t.step("no apps is an error", () => {
    assert.throws(() => overlay(), TypeError);
  });
});

Deno.test("useXForwarded() believes trusted proxies only", async (t) => {
  const app = toHandler((request) =>
    Response.json({
      remoteAddr: request.remoteAddr,
      uri: request.requestUri,
      scheme: request.scheme,
    })
  );
  const fetch = compose(useXForwarded({ trusted: ["10.0.0.1", "10.0.0.2"] }))(
    app,
  );
  const info = (hostname: string) => ({
    remoteAddr: { transport: "tcp" as const, hostname, port: 5000 },
    completed: Promise.resolve(),
  });
  const cases: [
    string,
    string,
    Record<string, string>,
    Record<string, string> | number,
  ][] = [
    [
      "an untrusted peer changes nothing",
      "203.0.113.5",
      {
        "X-Forwarded-For": "1.2.3.4",
        "X-Forwarded-Host": "evil.test",
        "X-Forwarded-Proto": "https",
      },
      {
        remoteAddr: "203.0.113.5",
        uri: "http://backend:8000/p?q=1",
        scheme: "http",
      },
    ],
    [
      "a trusted proxy gives the client, host and scheme",
      "10.0.0.1",
      {
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Host": "example.com",
        "X-Forwarded-Proto": "https",
      },
      {
        remoteAddr: "198.51.100.7",
        uri: "https://example.com/p?q=1",
        scheme: "https",
      },
    ],
    [
      "the right-most untrusted address is the client",
      "10.0.0.1",
      { "X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.0.0.2" },
      {
        remoteAddr: "198.51.100.7",
        uri: "http://backend:8000/p?q=1",
        scheme: "http",
      },
    ],
    [
      "a forwarded host with a port",
      "10.0.0.1",
      { "X-Forwarded-Host": "example.com:8443" },
      {
        remoteAddr: "10.0.0.1",
        uri: "http://example.com:8443/p?q=1",
        scheme: "http",
      },
    ],
    [
      "the last of several forwarded hosts",
      "10.0.0.1",
      { "X-Forwarded-Host": "a.test, b.test" },
      { remoteAddr: "10.0.0.1", uri: "http://b.test/p?q=1", scheme: "http" },
    ],
    [
      "X-Forwarded-Ssl: on",
      "10.0.0.1",
      { "X-Forwarded-Ssl": "on" },
      {
        remoteAddr: "10.0.0.1",
        uri: "https://backend:8000/p?q=1",
        scheme: "https",
      },
    ],
    [
      "an odd protocol is ignored",
      "10.0.0.1",
      { "X-Forwarded-Proto": "gopher" },
      {
        remoteAddr: "10.0.0.1",
        uri: "http://backend:8000/p?q=1",
        scheme: "http",
      },
    ],
    [
      "a malformed host is a 400",
      "10.0.0.1",
      { "X-Forwarded-Host": "x/admin" },
      400,
    ],
    [
      "a host with a space is a 400",
      "10.0.0.1",
      { "X-Forwarded-Host": "a b" },
      400,
    ],
  ];
  for (const [name, peer, headers, expected] of cases) {
    await t.step(name, async () => {
      const r = await fetch(
        new Request("http://backend:8000/p?q=1", { headers }),
        info(peer),
      );
      if (typeof expected === "number") assert.equal(r.status, expected);
      else assert.deepEqual(await r.json(), expected);
    });
  }
  await t.step("the client stays the client in apps further in", async () => {
    // Through fromFetch() and mount(), which go on with the request alone.
    const inner = new DispatcherApp();
    inner.match("/who", "GET", (request) => new Response(request.remoteAddr));
    const outer = new DispatcherApp();
    outer.match("/who", "GET", (request) => new Response(request.remoteAddr));
    outer.match("/sub/<rest:path>", "GET", fromFetch(mount({ "/sub": inner })));
    const front = compose(useXForwarded({ trusted: ["10.0.0.1"] }))(outer);
    for (const path of ["/who", "/sub/who"]) {
      const r = await front(
        new Request(`http://backend:8000${path}`, {
          headers: { "X-Forwarded-For": "203.0.113.9" },
        }),
        info("10.0.0.1"),
      );
      assert.equal(await r.text(), "203.0.113.9", path);
    }
  });
  await t.step(
    "a fetch handler further in gets the client and completed",
    async () => {
      const front = compose(useXForwarded({ trusted: ["10.0.0.1"] }))({
        fetch: (_request: Request, served?: Deno.ServeHandlerInfo) =>
          Response.json({
            client: (served?.remoteAddr as Deno.NetAddr).hostname,
            completed: served?.completed instanceof Promise,
          }),
      });
      // As Deno's: the members on the prototype.
      const served = Object.create({
        remoteAddr: { transport: "tcp", hostname: "10.0.0.1", port: 5000 },
        completed: Promise.resolve(),
      }) as Deno.ServeHandlerInfo;
      const r = await front(
        new Request("http://backend:8000/", {
          headers: { "X-Forwarded-For": "203.0.113.9" },
        }),
        served,
      );
      assert.deepEqual(await r.json(), {
        client: "203.0.113.9",
        completed: true,
      });
    },
  );
  await t.step("without connection info nothing changes", async () => {
    const r = await fetch(
      new Request("http://backend:8000/p", {
        headers: { "X-Forwarded-For": "1.2.3.4" },
      }),
    );
    assert.equal((await r.json()).remoteAddr, undefined);
  });
  await t.step("the default trusts loopback", async () => {
    const local = compose(useXForwarded())(app);
    const r = await local(
      new Request("http://b/", { headers: { "X-Forwarded-For": "1.2.3.4" } }),
      info("127.0.0.1"),
    );
    assert.equal((await r.json()).remoteAddr, "1.2.3.4");
  });
  await t.step(
    "a foreign handler sees the forwarded URL and Host",
    async () => {
      const wrapped = compose(useXForwarded({ trusted: ["10.0.0.1"] }))(
        echo("e"),
      );
      const r = await wrapped(
        new Request("http://backend:8000/p", {
          headers: { "X-Forwarded-Host": "example.com" },
        }),
        info("10.0.0.1"),
      );
      assert.equal((await r.json()).host, "example.com");
    },
  );
  await t.step(
    "https behind a proxy makes session cookies Secure",
    async () => {
      const counter = toHandler((request) => {
        request.session.set("x", 1);
        return new Response("ok");
      });
      const stack = compose(
        useXForwarded({ trusted: ["10.0.0.1"] }),
        sessionMiddleware(),
      )(counter);
      const r = await stack(
        new Request("http://backend/", {
          headers: { "X-Forwarded-Proto": "https" },
        }),
        info("10.0.0.1"),
      );
      assert.match(r.headers.get("set-cookie")!, /; Secure;/);
    },
  );
});

Deno.test("logger() logs method, path, status and duration of each request", async (t) => {
  const app = new DispatcherApp();
  app.match(
    "/hello/<name:unicode>",
    "GET",
    (_request, { name }) => new Response(name),
  );
  app.match("/fail", "GET", () => {
    throw new Error("boom");
  });
  const entries: { line: string; entry: LogEntry }[] = [];
  const fetch = compose(
    logger({ log: (line, entry) => entries.push({ line, entry }) }),
  )(app);
  const cases = [
    {
      name: "a routed GET, without its query",
      request: new Request("http://x.test/hello/ada?secret=1"),
      method: "GET",
      path: "/hello/ada",
      status: 200,
    },
    {
      name: "a 404",
      request: new Request("http://x.test/missing"),
      method: "GET",
      path: "/missing",
      status: 404,
    },
    {
      name: "a 405 for another method",
      request: new Request("http://x.test/hello/ada", { method: "DELETE" }),
      method: "DELETE",
      path: "/hello/ada",
      status: 405,
    },
    {
      name: "a handler error mapped to 500",
      request: new Request("http://x.test/fail"),
      method: "GET",
      path: "/fail",
      status: 500,
    },
    {
      name: "control characters and spaces stay percent-encoded",
      request: new Request("http://x.test/a b/%0a\nGET /forged"),
      method: "GET",
      path: "/a%20b/%0aGET%20/forged",
      status: 404,
    },
  ];
  const error = console.error;
  console.error = () => {}; // the 500 case logs its stack
  try {
    for (const { name, request, method, path, status } of cases) {
      await t.step(name, async () => {
        entries.length = 0;
        const response = await fetch(request);
        await response.body?.cancel();
        assert.equal(response.status, status);
        assert.equal(entries.length, 1);
        const [{ line, entry }] = entries;
        assert.equal(entry.method, method);
        assert.equal(entry.path, path);
        assert.equal(entry.status, status);
        assert.ok(entry.durationMs >= 0);
        assert.equal(
          line,
          `${method} ${path} ${status} ${entry.durationMs.toFixed(1)}ms`,
        );
        assert.doesNotMatch(line, /[\r\n]/);
      });
    }
  } finally {
    console.error = error;
  }

  await t.step(
    "a fetch handler that throws is logged as 500, and the error goes on",
    async () => {
      entries.length = 0;
      const failing = logger({
        log: (line, entry) => entries.push({ line, entry }),
      })(
        () => Promise.reject(new Error("down")),
      );
      await assert.rejects(failing(new Request("http://x.test/x")), /down/);
      assert.equal(entries.length, 1);
      assert.match(entries[0].line, /^GET \/x 500 \d+\.\dms$/);
    },
  );

  await t.step(
    "without options it writes the line with console.log",
    async () => {
      const log = console.log;
      const lines: unknown[][] = [];
      console.log = (...args: unknown[]) => lines.push(args);
      try {
        const r = await logger()(app.fetch)(
          new Request("http://x.test/hello/bob", { method: "HEAD" }),
        );
        assert.equal(r.status, 200);
      } finally {
        console.log = log;
      }
      assert.equal(lines.length, 1);
      assert.equal(lines[0].length, 1);
      assert.match(String(lines[0][0]), /^HEAD \/hello\/bob 200 \d+\.\dms$/);
    },
  );
});
