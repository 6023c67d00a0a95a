// The seams between the library's pieces (the "Seams" and "Composition"
// sections of the API reference): every function the library makes works in
// every place that takes a Handler or a FetchHandler; a function the library
// did not make is taken as the place's own kind, and in the wrong place the
// answer is an error that names the fix, never a wrong 200; and one request
// stays one record (its body, its session, its onClose callbacks) across
// mount, overlay, compose and the middlewares.
//
// Type note: the contract types a library-made function as both a `Handler`
// and a `FetchHandler`. The matrix states that once per producer (each
// `make()` returns `Made`), and every consumer then uses the natural user
// spelling on such a value; the literal spellings of the reference are also
// written out one by one in "the reference's own seams examples".
import assert from "node:assert/strict";
import {
  compose,
  conditional,
  DispatcherApp,
  type FetchHandler,
  FileUpload,
  fromFetch,
  type Handler,
  logger,
  type Middleware,
  mount,
  noCache,
  overlay,
  Request,
  Response,
  serve,
  serveStatic,
  sessionMiddleware,
  toHandler,
  useXForwarded,
  withEtag,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** What the contract says a library-made function is: both kinds at once. */
type Both = Handler & FetchHandler;

/** What a producer makes: a function of both kinds, or an app with one. */
type Made = Both | { readonly fetch: Both };

/** The path every producer answers, with its known body. */
const PATH = "/hello.txt";

/** The known body of a producer. */
const known = (name: string): string => `${name} ok`;

/** An answer, body read. */
interface Answer {
  status: number;
  body: string;
  headers: Headers;
}

async function read(response: globalThis.Response): Promise<Answer> {
  return {
    status: response.status,
    headers: response.headers,
    body: await response.text(),
  };
}

/** A web request to the in-process base URL. */
function web(path: string, init?: RequestInit): globalThis.Request {
  return new globalThis.Request(`http://localhost${path}`, init);
}

/** GETs `path` from a running server over the socket, then shuts it down. */
async function served(
  server: Deno.HttpServer<Deno.NetAddr>,
  path: string,
): Promise<Answer> {
  try {
    const response = await fetch(
      `http://127.0.0.1:${server.addr.port}${path}`,
    );
    return await read(response);
  } finally {
    await server.shutdown();
  }
}

const LISTEN = { port: 0, hostname: "127.0.0.1", onListen() {} } as const;

/** The function of a made thing, as a user passes it where a function goes. */
function fnOf(made: Made): Both {
  return typeof made === "function" ? made : made.fetch;
}

/** What `fn` gave or threw, and what was logged with `console.error` meanwhile. */
interface Outcome<T> {
  value?: T;
  error?: unknown;
  threw: boolean;
  logged: string;
}

async function capturingErrors<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  const original = console.error;
  const lines: string[] = [];
  console.error = (...args: unknown[]) => {
    lines.push(
      args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" "),
    );
  };
  try {
    const value = await fn();
    return { value, threw: false, logged: lines.join("\n") };
  } catch (error) {
    return { error, threw: true, logged: lines.join("\n") };
  } finally {
    console.error = original;
  }
}

/** The answer of an outcome, failing with what was thrown and logged. */
function answerOf(outcome: Outcome<Answer>): Answer {
  if (outcome.threw) {
    assert.fail(
      `threw ${Deno.inspect(outcome.error)}${logNote(outcome.logged)}`,
    );
  }
  return outcome.value!;
}

function logNote(logged: string): string {
  return logged ? `\n--- logged:\n${logged.slice(0, 1500)}` : "";
}

function assertAnswer(
  outcome: Outcome<Answer>,
  expect: { status: number; body: string },
): Answer {
  const answer = answerOf(outcome);
  const got = `got ${answer.status} ${
    JSON.stringify(answer.body.slice(0, 300))
  }`;
  assert.equal(
    answer.status,
    expect.status,
    `status: ${got}${logNote(outcome.logged)}`,
  );
  assert.equal(
    answer.body,
    expect.body,
    `body: ${got}${logNote(outcome.logged)}`,
  );
  return answer;
}

/**
 * The rule for a function in the wrong place: it works (the right status
 * and body), or it is a 500 and the logged error names the fix.
 */
function assertWorksOrNamesFix(
  outcome: Outcome<Answer>,
  good: { status: number; body: string },
  fixes: string[],
  never?: string,
): void {
  // At the fetch level errors go on to the caller (Deno.serve logs them and
  // answers 500): the error itself must name the fix.
  if (outcome.threw) {
    const message = String((outcome.error as Error)?.message ?? outcome.error);
    assert.ok(
      fixes.some((fix) => message.includes(fix)),
      `threw, but the error does not name the fix (${
        fixes.map((f) => JSON.stringify(f)).join(" or ")
      }): ${message}`,
    );
    return;
  }
  const answer = answerOf(outcome);
  const got = `got ${answer.status} ${
    JSON.stringify(answer.body.slice(0, 300))
  }`;
  if (never !== undefined) {
    assert.notEqual(
      answer.status === 200 ? answer.body : undefined,
      never,
      `a wrong 200: ${got}`,
    );
  }
  if (answer.status === good.status && answer.body === good.body) return;
  assert.equal(
    answer.status,
    500,
    `neither the right answer (${good.status} ${
      JSON.stringify(good.body)
    }) nor a 500: ${got}${logNote(outcome.logged)}`,
  );
  assert.ok(
    fixes.some((fix) => outcome.logged.includes(fix)),
    `a 500, but nothing logged names the fix (${
      fixes.map((f) => JSON.stringify(f)).join(" or ")
    })${logNote(outcome.logged) || " (nothing was logged)"}`,
  );
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()` or `ms` passed. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!done() && performance.now() < end) await delay(5);
}

/**
 * A value of the wrong kind on purpose, as plain JavaScript (or an `any`)
 * would pass it: the rule for such values is checked at run time.
 */
function untyped<T>(value: unknown): T {
  return value as T;
}

interface Fixture {
  /** A temp dir holding `hello.txt`. */
  dir: string;
}

async function withFixture(run: (fx: Fixture) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "pesto_seams_" });
  try {
    await Deno.writeTextFile(`${dir}/hello.txt`, known("serveStatic(dir)"));
    await run({ dir });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------
// Producers: each makes something that answers GET /hello.txt with 200 and
// "<name> ok" (and 404 elsewhere).
// ---------------------------------------------------------------------------

/** A DispatcherApp answering GET /hello.txt. */
function helloApp(name: string): DispatcherApp {
  const app = new DispatcherApp();
  app.match(PATH, "GET", () => new Response(known(name)));
  return app;
}

/** A Pesto handler answering GET /hello.txt. */
function helloHandler(name: string): Handler {
  return (request) =>
    request.pathInfo === PATH ? new Response(known(name)) : Response.notFound();
}

/** A fetch handler the library did not make, answering GET /hello.txt. */
function foreignHello(name: string) {
  return (request: globalThis.Request): Promise<globalThis.Response> =>
    Promise.resolve(
      new URL(request.url).pathname === PATH
        ? new globalThis.Response(known(name))
        : new globalThis.Response("Not Found", { status: 404 }),
    );
}

/** A middleware as a user writes it, passing requests through. */
const passThrough: Middleware = (next) => (request, info) =>
  next(request, info);

interface Producer {
  name: string;
  make(fx: Fixture): Made;
  /** The path that gives the known answer. */
  path: string;
  expect: { status: number; body: string };
  /** More checks on the answer (headers). */
  check?(answer: Answer): void;
}

function producer(
  name: string,
  make: (fx: Fixture) => Made,
  check?: (answer: Answer) => void,
): Producer {
  return {
    name,
    make,
    path: PATH,
    expect: { status: 200, body: known(name) },
    check,
  };
}

const PRODUCERS: Producer[] = [
  producer("toHandler(h)", () => toHandler(helloHandler("toHandler(h)"))),
  producer("app.fetch", () => helloApp("app.fetch").fetch),
  producer("DispatcherApp", () => helloApp("DispatcherApp")),
  producer(
    "compose(mw)(app)",
    () => compose(passThrough)(helloApp("compose(mw)(app)")),
  ),
  producer(
    "compose()(app.fetch)",
    () => compose()(helloApp("compose()(app.fetch)").fetch),
  ),
  producer(
    "mount({ '/': app })",
    () => mount({ "/": helloApp("mount({ '/': app })") }),
  ),
  producer(
    "overlay(app404, app)",
    () => overlay(new DispatcherApp(), helloApp("overlay(app404, app)")),
  ),
  producer(
    "sessionMiddleware()(app.fetch)",
    () => sessionMiddleware()(helloApp("sessionMiddleware()(app.fetch)").fetch),
  ),
  producer(
    "conditional()(app.fetch)",
    () => conditional()(helloApp("conditional()(app.fetch)").fetch),
  ),
  producer(
    "useXForwarded()(app.fetch)",
    () => useXForwarded()(helloApp("useXForwarded()(app.fetch)").fetch),
  ),
  producer(
    "logger({ log() {} })(app.fetch)",
    () =>
      logger({ log() {} })(helloApp("logger({ log() {} })(app.fetch)").fetch),
  ),
  producer(
    "serveStatic(dir)",
    (fx) => serveStatic(fx.dir),
    (answer) =>
      assert.match(answer.headers.get("content-type") ?? "", /^text\/plain/),
  ),
  producer(
    "withEtag(etagOf)(handler)",
    () => withEtag(() => "v1")(helloHandler("withEtag(etagOf)(handler)")),
    (answer) =>
      assert.match(answer.headers.get("etag") ?? "(none)", /^(W\/)?"[^"]+"$/),
  ),
  producer(
    "noCache(handler)",
    () => noCache(helloHandler("noCache(handler)")),
    (answer) =>
      assert.match(answer.headers.get("cache-control") ?? "(none)", /no-store/),
  ),
  producer(
    "fromFetch(fetchHandler)",
    () => fromFetch(foreignHello("fromFetch(fetchHandler)")),
  ),
];

// ---------------------------------------------------------------------------
// Consumers: each takes a made thing and asks for the path that reaches the
// producer's known answer.
// ---------------------------------------------------------------------------

interface Consumer {
  name: string;
  /** Asks for `path` (where the producer answers, under any prefix the consumer adds). */
  run(made: Made, path: string): Promise<Answer>;
  check?(answer: Answer): void;
}

let composeCalls = 0;
const countingMiddleware: Middleware = (next) => (request, info) => {
  composeCalls++;
  return next(request, info);
};

const CONSUMERS: Consumer[] = [
  {
    name: "Deno.serve(f) over a socket",
    run: (made, path) => served(Deno.serve(LISTEN, fnOf(made)), path),
  },
  {
    name: "serve(f)",
    run: (made, path) => served(serve(made, LISTEN), path),
  },
  {
    name: "export default (deno serve calls exported.fetch(request, info))",
    run: (made, path) => {
      const exported = typeof made === "function" ? { fetch: made } : made;
      return served(Deno.serve(LISTEN, exported.fetch), path);
    },
  },
  {
    name: "new TestApp(f)",
    run: async (made, path) => {
      const r = await new TestApp(made).get(path);
      return { status: r.status, body: r.text, headers: r.headers };
    },
  },
  {
    name: "mount({ '/p': f }) at /p/...",
    run: async (made, path) =>
      read(await mount({ "/p": made })(web(`/p${path}`))),
  },
  {
    name: "overlay(f)",
    run: async (made, path) => read(await overlay(made)(web(path))),
  },
  {
    name: "overlay(notFoundApp, f)",
    run: async (made, path) =>
      read(await overlay(new DispatcherApp(), made)(web(path))),
  },
  {
    name: "compose(mw)(f)",
    run: async (made, path) => {
      composeCalls = 0;
      const answer = await read(
        await compose(countingMiddleware)(made)(web(path)),
      );
      assert.equal(composeCalls, 1, "the middleware ran once");
      return answer;
    },
  },
  {
    name: "app.match('/hello.txt', 'GET', f)",
    run: async (made, path) => {
      const app = new DispatcherApp();
      app.match("/hello.txt", "GET", fnOf(made));
      return read(await app.fetch(web(path)));
    },
  },
  {
    name: "app.match('/<path:path>', 'GET', f)",
    run: async (made, path) => {
      const app = new DispatcherApp();
      app.match("/<path:path>", "GET", fnOf(made));
      return read(await app.fetch(web(path)));
    },
  },
  {
    name: "a route with decorators [noCache, (h) => withEtag(etagOf)(h)]",
    run: async (made, path) => {
      const app = new DispatcherApp();
      app.match("/hello.txt", "GET", fnOf(made), {
        decorators: [noCache, (h) => withEtag(() => "decorated")(h)],
      });
      return read(await app.fetch(web(path)));
    },
    check: (answer) => {
      assert.match(answer.headers.get("cache-control") ?? "(none)", /no-store/);
      assert.match(answer.headers.get("etag") ?? "(none)", /"/);
    },
  },
  {
    name: "toHandler(f)",
    run: async (made, path) => read(await toHandler(fnOf(made))(web(path))),
  },
  {
    name: "app.match('/hello.txt', 'GET', fromFetch(f))",
    run: async (made, path) => {
      const app = new DispatcherApp();
      app.match("/hello.txt", "GET", fromFetch(made));
      return read(await app.fetch(web(path)));
    },
  },
  {
    name: "a library middleware applied directly: conditional()(f)",
    run: async (made, path) => read(await conditional()(fnOf(made))(web(path))),
  },
];

for (const consumer of CONSUMERS) {
  Deno.test(`seams: ${consumer.name} takes every library-made function`, async (t) => {
    await withFixture(async (fx) => {
      for (const p of PRODUCERS) {
        await t.step(p.name, async () => {
          const outcome = await capturingErrors(() =>
            consumer.run(p.make(fx), p.path)
          );
          const answer = assertAnswer(outcome, p.expect);
          p.check?.(answer);
          consumer.check?.(answer);
        });
      }
    });
  });
}

Deno.test("seams: the reference's own seams examples, spelled as users write them", async (t) => {
  await withFixture(async ({ dir }) => {
    const app = helloApp("app");
    const expect = { status: 200, body: known("app") };
    const file = { status: 200, body: known("serveStatic(dir)") };
    await t.step("Deno.serve(serveStatic(dir))", async () => {
      assertAnswer(
        await capturingErrors(() =>
          served(Deno.serve(LISTEN, serveStatic(dir)), PATH)
        ),
        file,
      );
    });
    await t.step("mount({ '/s': serveStatic(dir) })", async () => {
      const fetch = mount({ "/s": serveStatic(dir) });
      assertAnswer(
        await capturingErrors(async () => read(await fetch(web(`/s${PATH}`)))),
        file,
      );
    });
    await t.step("toHandler(app.fetch)", async () => {
      const fetch = toHandler(app.fetch);
      assertAnswer(
        await capturingErrors(async () => read(await fetch(web(PATH)))),
        expect,
      );
    });
    await t.step("other.match(p, 'GET', app.fetch)", async () => {
      const other = new DispatcherApp();
      other.match("/hello.txt", "GET", app.fetch);
      assertAnswer(
        await capturingErrors(async () => read(await other.fetch(web(PATH)))),
        expect,
      );
    });
    await t.step("serve(app.fetch)", async () => {
      assertAnswer(
        await capturingErrors(() => served(serve(app.fetch, LISTEN), PATH)),
        expect,
      );
    });
    await t.step("new TestApp(sessionMiddleware()(app.fetch))", async () => {
      const client = new TestApp(sessionMiddleware()(app.fetch));
      assertAnswer(
        await capturingErrors(async () => {
          const r = await client.get(PATH);
          return { status: r.status, body: r.text, headers: r.headers };
        }),
        expect,
      );
    });
    await t.step("export default { fetch: serveStatic(dir) }", async () => {
      const exported = { fetch: serveStatic(dir) };
      assertAnswer(
        await capturingErrors(() =>
          served(Deno.serve(LISTEN, exported.fetch), PATH)
        ),
        file,
      );
    });
  });
});

/**
 * Runs `deno serve` on a module, GETs `path` from it, and stops it.
 * `source` imports "@pesto/pesto" (resolved through this package's
 * deno.json).
 */
async function denoServe(
  moduleFile: string,
  source: string,
  path: string,
): Promise<Answer & { output: string }> {
  await Deno.writeTextFile(moduleFile, source);
  const config = decodeURIComponent(
    new URL("../deno.json", import.meta.url).pathname,
  );
  // A copy of the lock file, so that the package's own is never written.
  const lock = `${moduleFile}.lock`;
  await Deno.copyFile(
    decodeURIComponent(new URL("../deno.lock", import.meta.url).pathname),
    lock,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      `--lock=${lock}`,
      "--config",
      config,
      "--allow-all",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      moduleFile,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let output = "";
  let found!: (url: string) => void;
  const address = new Promise<string>((resolve) => found = resolve);
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      output += text;
      const m = /Listening on (http:\/\/[^\s/]+)/.exec(output);
      if (m) found(m[1]);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), 10_000);
  });
  let answer: Answer;
  try {
    const base = await Promise.race([address, timeout]);
    if (base === undefined) {
      assert.fail(`deno serve did not listen within 10 s:\n${output}`);
    }
    answer = await read(await fetch(`${base}${path}`));
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await pumps;
  }
  // The output includes what the server logged while answering.
  return { ...answer, output };
}

Deno.test("seams: a real `deno serve` runs library-made default exports", async (t) => {
  await withFixture(async ({ dir }) => {
    const cases = [
      {
        name: "export default app (a DispatcherApp)",
        source: `import { DispatcherApp, Response } from "@pesto/pesto";
const app = new DispatcherApp();
app.match("/hello.txt", "GET", () => new Response("deno serve ok"));
export default app;
`,
        body: "deno serve ok",
      },
      {
        name: "export default { fetch: serveStatic(dir) }",
        source: `import { serveStatic } from "@pesto/pesto";
export default { fetch: serveStatic(${JSON.stringify(dir)}) };
`,
        body: known("serveStatic(dir)"),
      },
    ];
    // Both servers start at once: each `deno serve` takes a second or two.
    const results = await Promise.allSettled(
      cases.map((c, i) => denoServe(`${dir}/server_${i}.ts`, c.source, PATH)),
    );
    for (const [i, c] of cases.entries()) {
      await t.step(c.name, () => {
        const result = results[i];
        if (result.status === "rejected") throw result.reason;
        const { status, body, output } = result.value;
        assert.equal(status, 200, `got ${status} ${body}\n${output}`);
        assert.equal(body, c.body, output);
      });
    }
  });
});

// ---------------------------------------------------------------------------
// Foreign functions: taken as the place's own kind; in the other place the
// answer is right, or a 500 whose logged error names the fix.
// ---------------------------------------------------------------------------

/** A plain fetch function the library did not make. */
type WebFetch = (request: globalThis.Request) => Promise<globalThis.Response>;

const fetchPathname: WebFetch = (request) =>
  Promise.resolve(new globalThis.Response(new URL(request.url).pathname));

const FOREIGN_FETCHES: { name: string; f: WebFetch }[] = [
  { name: "new URL(request.url).pathname", f: fetchPathname },
  {
    name: 'request.url.indexOf("/")',
    f: (request) => {
      const url = request.url;
      const start = url.indexOf("/", url.indexOf("//") + 2);
      const end = url.indexOf("?");
      return Promise.resolve(
        new globalThis.Response(url.slice(start, end < 0 ? undefined : end)),
      );
    },
  },
  {
    name: "new Request(request)",
    f: (request) => {
      const copy = new globalThis.Request(request);
      return Promise.resolve(
        new globalThis.Response(new URL(copy.url).pathname),
      );
    },
  },
];

const pestoPathInfo: Handler = (request) => new Response(request.pathInfo);

const FOREIGN_HANDLERS: {
  name: string;
  h: Handler;
  query?: string;
  good: string;
  never?: string;
}[] = [
  {
    name: "new Response(request.pathInfo)",
    h: pestoPathInfo,
    good: "/a/b",
    never: "",
  },
  {
    name: "new Response(`path ${request.pathInfo}`)",
    h: (request) => new Response(`path ${request.pathInfo}`),
    good: "path /a/b",
    never: "path undefined",
  },
  {
    name: "Response.json({ path: request.pathInfo })",
    h: (request) => Response.json({ path: request.pathInfo }),
    good: '{"path":"/a/b"}',
    never: "{}",
  },
  {
    name: 'request.query.get("q")',
    h: (request) => new Response(request.query.get("q") ?? "none"),
    query: "?q=x",
    good: "x",
  },
];

Deno.test("seams: a plain fetch function works where fetch handlers go", async (t) => {
  const expect = { status: 200, body: "/a/b" };
  await t.step("mount({ '/m': f })", async () => {
    assertAnswer(
      await capturingErrors(async () =>
        read(await mount({ "/m": fetchPathname })(web("/m/a/b")))
      ),
      expect,
    );
  });
  await t.step("overlay(f)", async () => {
    assertAnswer(
      await capturingErrors(async () =>
        read(await overlay(fetchPathname)(web("/a/b")))
      ),
      expect,
    );
  });
  await t.step("overlay(notFoundApp, f)", async () => {
    assertAnswer(
      await capturingErrors(async () =>
        read(await overlay(new DispatcherApp(), fetchPathname)(web("/a/b")))
      ),
      expect,
    );
  });
  await t.step("compose(mw)(f)", async () => {
    assertAnswer(
      await capturingErrors(async () =>
        read(await compose(passThrough)(fetchPathname)(web("/a/b")))
      ),
      expect,
    );
  });
  await t.step("new TestApp({ fetch: f })", async () => {
    assertAnswer(
      await capturingErrors(async () => {
        const r = await new TestApp({ fetch: fetchPathname }).get("/a/b");
        return { status: r.status, body: r.text, headers: r.headers };
      }),
      expect,
    );
  });
});

Deno.test("seams: a plain Pesto handler works where handlers go", async (t) => {
  const expect = { status: 200, body: "/a/b" };
  await t.step("toHandler(h)", async () => {
    assertAnswer(
      await capturingErrors(async () =>
        read(await toHandler(pestoPathInfo)(web("/a/b")))
      ),
      expect,
    );
  });
  await t.step("app.match('/a/b', 'GET', h)", async () => {
    const app = new DispatcherApp();
    app.match("/a/b", "GET", (request) => new Response(request.pathInfo));
    assertAnswer(
      await capturingErrors(async () => read(await app.fetch(web("/a/b")))),
      expect,
    );
  });
  await t.step("new TestApp(h)", async () => {
    assertAnswer(
      await capturingErrors(async () => {
        const r = await new TestApp((request) => new Response(request.pathInfo))
          .get("/a/b");
        return { status: r.status, body: r.text, headers: r.headers };
      }),
      expect,
    );
  });
  await t.step("serve(h)", async () => {
    assertAnswer(
      await capturingErrors(() =>
        served(
          serve((request) => new Response(request.pathInfo), LISTEN),
          "/a/b",
        )
      ),
      expect,
    );
  });
});

const TO_HANDLER_FIX = ["toHandler("];
const TO_FETCH_FIX = ["{ fetch:", "fromFetch("];

Deno.test("seams: a plain Pesto handler where a fetch handler goes is right or a 500 naming toHandler(", async (t) => {
  for (const { name, h, query = "", good, never } of FOREIGN_HANDLERS) {
    const expect = { status: 200, body: good };
    const places: [string, (h: Handler) => Promise<Answer>][] = [
      [
        "mount({ '/m': h })",
        async (h) =>
          read(
            await mount({ "/m": untyped<FetchHandler>(h) })(
              web(`/m/a/b${query}`),
            ),
          ),
      ],
      [
        "overlay(h)",
        async (h) =>
          read(await overlay(untyped<FetchHandler>(h))(web(`/a/b${query}`))),
      ],
      [
        "overlay(notFoundApp, h)",
        async (h) =>
          read(
            await overlay(new DispatcherApp(), untyped<FetchHandler>(h))(
              web(`/a/b${query}`),
            ),
          ),
      ],
      [
        "compose(mw)(h)",
        async (h) =>
          read(
            await compose(passThrough)(untyped<FetchHandler>(h))(
              web(`/a/b${query}`),
            ),
          ),
      ],
      [
        "app.match('/a/b', 'GET', fromFetch(h))",
        async (h) => {
          const app = new DispatcherApp();
          app.match("/a/b", "GET", fromFetch(untyped<FetchHandler>(h)));
          return read(await app.fetch(web(`/a/b${query}`)));
        },
      ],
    ];
    for (const [place, run] of places) {
      await t.step(`${name} in ${place}`, async () => {
        assertWorksOrNamesFix(
          await capturingErrors(() => run(h)),
          expect,
          TO_HANDLER_FIX,
          never,
        );
      });
    }
  }
});

Deno.test("seams: a plain fetch function where a handler goes is right or a 500 naming { fetch: / fromFetch(", async (t) => {
  const expect = { status: 200, body: "/a/b" };
  for (const { name, f } of FOREIGN_FETCHES) {
    const places: [string, (f: WebFetch) => Promise<Answer>][] = [
      [
        "toHandler(f)",
        async (f) => read(await toHandler(untyped<Handler>(f))(web("/a/b"))),
      ],
      [
        "app.match('/a/b', 'GET', f)",
        async (f) => {
          const app = new DispatcherApp();
          app.match("/a/b", "GET", untyped<Handler>(f));
          return read(await app.fetch(web("/a/b")));
        },
      ],
      [
        "app.match('/a/b', 'GET', noCache(f))",
        async (f) => {
          const app = new DispatcherApp();
          app.match("/a/b", "GET", noCache(untyped<Handler>(f)));
          return read(await app.fetch(web("/a/b")));
        },
      ],
      [
        "new TestApp(f)",
        async (f) => {
          const r = await new TestApp(untyped<Handler>(f)).get("/a/b");
          return { status: r.status, body: r.text, headers: r.headers };
        },
      ],
      [
        "serve(f)",
        (f) => served(serve(untyped<Handler>(f), LISTEN), "/a/b"),
      ],
    ];
    for (const [place, run] of places) {
      await t.step(`${name} in ${place}`, async () => {
        assertWorksOrNamesFix(
          await capturingErrors(() => run(f)),
          expect,
          TO_FETCH_FIX,
        );
      });
    }
  }
  await t.step(
    'request.url.indexOf("/") in toHandler(f, { onError }): the error names the fix',
    async () => {
      const errors: unknown[] = [];
      const fetch = toHandler(untyped<Handler>(FOREIGN_FETCHES[1].f), {
        onError: (error) => errors.push(error),
      });
      const outcome = await capturingErrors(async () =>
        read(await fetch(web("/a/b")))
      );
      const reported = errors.map((e) => Deno.inspect(e)).join("\n");
      assertWorksOrNamesFix(
        { ...outcome, logged: `${outcome.logged}\n${reported}` },
        expect,
        TO_FETCH_FIX,
      );
    },
  );
});

// ---------------------------------------------------------------------------
// One per-request record: the body, the session and the onClose callbacks
// of one request, whatever it goes through.
// ---------------------------------------------------------------------------

function valueText(value: string | FileUpload | undefined): Promise<string> {
  if (value instanceof FileUpload) {
    return value.text().then((text) => `${value.filename}:${text}`);
  }
  return Promise.resolve(value ?? "-");
}

async function formText(request: Request): Promise<string> {
  const form = await request.form();
  return [
    form.get("name") ?? "-",
    form.get("age") ?? "-",
    await valueText(form.get("file")),
  ].join("|");
}

Deno.test("seams: a form read by a middleware is read again by the app", async (t) => {
  const seen: string[] = [];
  const readsForm: Middleware = (next) => async (req, info) => {
    const r = new Request(req);
    seen.push(await formText(r));
    return next(req, info);
  };
  const formApp = () => {
    const app = new DispatcherApp();
    app.match(
      "/form",
      "POST",
      async (request) => new Response(await formText(request)),
    );
    return app;
  };
  const stacks: [string, () => FetchHandler, string][] = [
    ["compose(readsForm)(app)", () => compose(readsForm)(formApp()), "/form"],
    [
      "compose(readsForm)(mount({ '/m': app }))",
      () => compose(readsForm)(mount({ "/m": formApp() })),
      "/m/form",
    ],
    [
      "compose(readsForm)(overlay(app404, app))",
      () => compose(readsForm)(overlay(new DispatcherApp(), formApp())),
      "/form",
    ],
    [
      "compose(readsForm, passThrough)(mount({ '/m': overlay(app404, app) }))",
      () =>
        compose(readsForm, passThrough)(
          mount({ "/m": overlay(new DispatcherApp(), formApp()) }),
        ),
      "/m/form",
    ],
  ];
  const sends: [
    string,
    (c: TestApp, path: string) => Promise<{ status: number; text: string }>,
    string,
  ][] = [
    [
      "urlencoded",
      (client, path) => client.post(path, { form: { name: "Ada", age: "36" } }),
      "Ada|36|-",
    ],
    [
      "multipart with a file",
      (client, path) =>
        client.postMultipart(path, {
          fields: { name: "Ada", age: "36" },
          files: [{
            field: "file",
            filename: "notes.txt",
            contentType: "text/plain",
            content: "hello file",
          }],
        }),
      "Ada|36|notes.txt:hello file",
    ],
  ];
  for (const [kind, send, expected] of sends) {
    for (const [name, make, path] of stacks) {
      await t.step(`${kind}: ${name}`, async () => {
        seen.length = 0;
        const client = new TestApp({ fetch: make() });
        const outcome = await capturingErrors(async () => {
          const r = await send(client, path);
          return { status: r.status, body: r.text, headers: new Headers() };
        });
        assert.deepEqual(seen, [expected], "what the middleware read");
        assertAnswer(outcome, { status: 200, body: expected });
      });
    }
  }
});

Deno.test("seams: one session through mount, overlay and useXForwarded", async (t) => {
  const sessionApp = () => {
    const app = new DispatcherApp();
    app.match("/set", "POST", async (request) => {
      request.session.set("color", String(await request.get("color")));
      return new Response("set");
    });
    app.match(
      "/get",
      "GET",
      (request) =>
        new Response(String(request.session.get<string>("color") ?? "none")),
    );
    return app;
  };
  const forwarded = {
    "X-Forwarded-Host": "localhost",
    "X-Forwarded-For": "203.0.113.9",
  };
  const stacks: [
    string,
    () => ConstructorParameters<typeof TestApp>[0],
    string,
    HeadersInit?,
  ][] = [
    [
      "compose(sessionMiddleware())(mount({ '/m': app }))",
      () => ({
        fetch: compose(sessionMiddleware())(mount({ "/m": sessionApp() })),
      }),
      "/m",
    ],
    [
      "compose(sessionMiddleware())(overlay(app404, app))",
      () => ({
        fetch: compose(sessionMiddleware())(
          overlay(new DispatcherApp(), sessionApp()),
        ),
      }),
      "",
    ],
    [
      "compose(sessionMiddleware(), useXForwarded())(app), forwarded",
      () => ({
        fetch: compose(sessionMiddleware(), useXForwarded())(sessionApp()),
      }),
      "",
      forwarded,
    ],
    [
      "compose(sessionMiddleware(), useXForwarded())(mount({ '/m': overlay(app404, app) })), forwarded",
      () => ({
        fetch: compose(sessionMiddleware(), useXForwarded())(
          mount({ "/m": overlay(new DispatcherApp(), sessionApp()) }),
        ),
      }),
      "/m",
      forwarded,
    ],
    [
      "new TestApp(sessionMiddleware()(mount({ '/m': app })))",
      () => sessionMiddleware()(mount({ "/m": sessionApp() })),
      "/m",
    ],
  ];
  for (const [name, make, prefix, headers] of stacks) {
    await t.step(name, async () => {
      const client = new TestApp(make(), { headers });
      const outcome = await capturingErrors(async () => {
        const set = await client.post(`${prefix}/set`, {
          form: { color: "teal" },
        });
        assert.equal(set.status, 200, `POST set: ${set.status} ${set.text}`);
        assert.equal(set.text, "set");
        const r = await client.get(`${prefix}/get`);
        return { status: r.status, body: r.text, headers: r.headers };
      });
      assertAnswer(outcome, { status: 200, body: "teal" });
    });
  }
});

Deno.test("seams: onClose callbacks run exactly once through mount, overlay and compose", async (t) => {
  const counts = { bye: 0, notFound: 0 };
  const closingApp = () => {
    const app = new DispatcherApp();
    app.match("/bye", "GET", (request) => {
      request.session.set("seen", true);
      return new Response("bye").onClose(() => {
        counts.bye++;
      });
    });
    return app;
  };
  const closing404 = () =>
    new DispatcherApp({
      notFound: () =>
        Response.notFound().onClose(() => {
          counts.notFound++;
        }),
    });
  // The app sets a session value, so it needs the session middleware.
  const session = sessionMiddleware();
  type Case = {
    name: string;
    call: () => Promise<Answer>;
    notFound: number;
  };
  const inProcess = (fetch: FetchHandler, path: string) => async () =>
    read(await fetch(web(path)));
  const nested = () =>
    compose(session, conditional(), logger({ log() {} }), passThrough)(
      mount({ "/m": overlay(closing404(), closingApp()) }),
    );
  const cases: Case[] = [
    {
      name: "mount({ '/m': app })",
      call: inProcess(
        compose(session)(mount({ "/m": closingApp() })),
        "/m/bye",
      ),
      notFound: 0,
    },
    {
      name: "overlay(app404, app)",
      call: inProcess(
        compose(session)(overlay(closing404(), closingApp())),
        "/bye",
      ),
      notFound: 1,
    },
    {
      name: "overlay(app, app404)",
      call: inProcess(
        compose(session)(overlay(closingApp(), closing404())),
        "/bye",
      ),
      notFound: 0,
    },
    {
      name: "compose(session, mw)(app)",
      call: inProcess(compose(session, passThrough)(closingApp()), "/bye"),
      notFound: 0,
    },
    {
      name:
        "compose(session, conditional(), logger(), mw)(mount({ '/m': overlay(app404, app) }))",
      call: inProcess(nested(), "/m/bye"),
      notFound: 1,
    },
    {
      name: "the same stack in a TestApp",
      call: async () => {
        const r = await new TestApp({ fetch: nested() }).get("/m/bye");
        return { status: r.status, body: r.text, headers: r.headers };
      },
      notFound: 1,
    },
    {
      name: "the same stack served by Deno.serve",
      call: () => served(Deno.serve(LISTEN, nested()), "/m/bye"),
      notFound: 1,
    },
    {
      // Two DispatcherApps, each settling its own response.
      name:
        "outer.match('/m/<rest:path>', 'GET', fromFetch(mount({ '/m': app })))",
      call: () => {
        const outer = new DispatcherApp();
        outer.match(
          "/m/<rest:path>",
          "GET",
          fromFetch(mount({ "/m": closingApp() })),
        );
        return inProcess(compose(session)(outer), "/m/bye")();
      },
      notFound: 0,
    },
    {
      name: "outer.match('/bye', 'GET', app.fetch), served by Deno.serve",
      call: () => {
        const outer = new DispatcherApp();
        outer.match("/bye", "GET", closingApp().fetch);
        return served(Deno.serve(LISTEN, compose(session)(outer)), "/bye");
      },
      notFound: 0,
    },
    {
      name: "mount({ '/m': overlay(app404, app) }) inside toHandler, served",
      call: () =>
        served(
          Deno.serve(
            LISTEN,
            compose(session)(
              toHandler(mount({ "/m": overlay(closing404(), closingApp()) })),
            ),
          ),
          "/m/bye",
        ),
      notFound: 1,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      counts.bye = 0;
      counts.notFound = 0;
      assertAnswer(await capturingErrors(c.call), { status: 200, body: "bye" });
      await until(
        () => counts.bye >= 1 && counts.notFound >= c.notFound,
        2000,
      );
      await delay(30);
      assert.deepEqual(counts, { bye: 1, notFound: c.notFound });
    });
  }
});
