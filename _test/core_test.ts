import assert from "node:assert/strict";
import {
  currentRequest,
  errorResponse,
  HttpError,
  HttpRedirect,
  MethodNotAllowed,
  serve,
  toHandler,
} from "../core.ts";
import { Request } from "../request.ts";
import { Response } from "../response.ts";

/** Captures console.error while `fn` runs. */
async function quietly<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; logged: string[] }> {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) =>
    void logged.push(
      args.map((a) => a instanceof Error ? a.stack : String(a)).join(" "),
    );
  try {
    return { result: await fn(), logged };
  } finally {
    console.error = original;
  }
}

Deno.test("toHandler() calls the handler with a Pesto Request", async () => {
  let seen: Request | undefined;
  const fetch = toHandler((request) => {
    seen = request;
    return new Response(
      `${request.method} ${request.pathInfo} ${request.query.get("a")}`,
    );
  });
  const response = await fetch(
    new globalThis.Request("http://localhost/x/y?a=1", { method: "PUT" }),
  );
  assert.ok(seen instanceof Request);
  assert.equal(await response.text(), "PUT /x/y 1");
});

Deno.test("toHandler() accepts plain web Responses and async handlers", async () => {
  const fetch = toHandler(async () => {
    await Promise.resolve();
    return new globalThis.Response("plain", { status: 202 });
  });
  const response = await fetch(new globalThis.Request("http://localhost/"));
  assert.equal(response.status, 202);
  assert.equal(await response.text(), "plain");
});

Deno.test("toHandler() maps thrown HttpErrors to their responses", async (t) => {
  const cases: [string, () => never, number, Record<string, string>, RegExp][] =
    [
      [
        "HttpError",
        () => {
          throw new HttpError(404, "No such page");
        },
        404,
        {},
        /^No such page\n$/,
      ],
      [
        "HttpError with headers",
        () => {
          throw new HttpError(429, undefined, {
            headers: { "Retry-After": "3" },
          });
        },
        429,
        { "retry-after": "3" },
        /^Too Many Requests\n$/,
      ],
      [
        "MethodNotAllowed",
        () => {
          throw new MethodNotAllowed(["POST", "GET"]);
        },
        405,
        { allow: "GET, POST" },
        /Method not allowed/,
      ],
      [
        "HttpRedirect",
        () => {
          throw new HttpRedirect("/login", 303);
        },
        303,
        { location: "http://localhost/login" },
        /Page has moved/,
      ],
    ];
  for (const [name, handler, status, headers, body] of cases) {
    await t.step(name, async () => {
      const response = await toHandler(handler)(
        new globalThis.Request("http://localhost/a"),
      );
      assert.equal(response.status, status);
      for (const [header, value] of Object.entries(headers)) {
        assert.equal(response.headers.get(header), value);
      }
      assert.match(await response.text(), body);
    });
  }
});

Deno.test("toHandler() answers 500 with a generic body and logs the stack", async (t) => {
  await t.step("a thrown Error", async () => {
    const fetch = toHandler(() => {
      throw new Error("database password is hunter2");
    });
    const { result, logged } = await quietly(() =>
      fetch(new globalThis.Request("http://localhost/boom"))
    );
    assert.equal(result.status, 500);
    const body = await result.text();
    assert.doesNotMatch(body, /hunter2|at |Error:/);
    assert.match(body, /Internal Server Error/);
    assert.equal(logged.length, 1);
    assert.match(logged[0], /GET http:\/\/localhost\/boom/);
    assert.match(logged[0], /hunter2/);
    assert.match(logged[0], /core_test\.ts/, "the log carries the stack");
  });
  await t.step("a rejected promise and a thrown non-Error", async () => {
    for (
      const handler of [
        () => Promise.reject(new TypeError("nope")),
        () => {
          throw "a string";
        },
      ]
    ) {
      const { result } = await quietly(() =>
        toHandler(handler)(new globalThis.Request("http://localhost/"))
      );
      assert.equal(result.status, 500);
    }
  });
  await t.step("a handler that returns no Response", async () => {
    const fetch = toHandler((() => "oops") as unknown as () => Response);
    const { result, logged } = await quietly(() =>
      fetch(new globalThis.Request("http://localhost/"))
    );
    assert.equal(result.status, 500);
    assert.match(logged[0], /returned string instead of a Response/);
  });
  await t.step("onError replaces the log, debug shows the stack", async () => {
    const errors: unknown[] = [];
    const fetch = toHandler(() => {
      throw new Error("visible");
    }, { debug: true, onError: (error) => errors.push(error) });
    const response = await fetch(new globalThis.Request("http://localhost/"));
    assert.equal(response.status, 500);
    assert.match(await response.text(), /Error: visible\n\s+at /);
    assert.equal(errors.length, 1);
  });
});

Deno.test("toHandler() answers 400 to a malformed Host before the handler runs", async () => {
  let ran = false;
  const fetch = toHandler(() => {
    ran = true;
    return new Response("ran");
  });
  for (const host of ["x/admin", "x?", "x:99999", "a b", "x@y", "[::1"]) {
    const raw = new globalThis.Request("http://localhost/public/a.txt", {
      headers: { host },
    });
    const response = await fetch(raw);
    assert.equal(response.status, 400, host);
    assert.equal(await response.text(), "Malformed Host header\n");
  }
  assert.equal(ran, false);
  for (
    const host of [
      "example.com",
      "example.com:8080",
      "127.0.0.1:1",
      "[::1]:80",
      "localhost",
    ]
  ) {
    const raw = new globalThis.Request("http://localhost/", {
      headers: { host },
    });
    assert.equal((await fetch(raw)).status, 200, host);
  }
});

Deno.test("toHandler() answers 400 to a malformed path", async () => {
  const fetch = toHandler((request) => new Response(request.pathInfo));
  for (const path of ["/%zz", "/%C3", "/a%00b", "/%ff%fe"]) {
    const response = await fetch(
      new globalThis.Request(`http://localhost${path}`),
    );
    assert.equal(response.status, 400, path);
    assert.match(await response.text(), /^Malformed path/);
  }
});

Deno.test("toHandler() passes limits to the request", async () => {
  const fetch = toHandler(
    async (request) => new Response(String((await request.bytes()).length)),
    {
      limits: { maxBodySize: 4 },
    },
  );
  const ok = await fetch(
    new globalThis.Request("http://localhost/", {
      method: "POST",
      body: "1234",
    }),
  );
  assert.equal(await ok.text(), "4");
  const big = await fetch(
    new globalThis.Request("http://localhost/", {
      method: "POST",
      body: "12345",
    }),
  );
  assert.equal(big.status, 413);
});

Deno.test("currentRequest() follows each request across awaits", async () => {
  assert.equal(currentRequest(), undefined);
  const fetch = toHandler(async (request) => {
    const delay = Number(request.query.get("delay"));
    await new Promise((resolve) => setTimeout(resolve, delay));
    const before = currentRequest();
    await Promise.resolve();
    return new Response(
      `${before === request} ${currentRequest()?.query.get("id")}`,
    );
  });
  const answers = await Promise.all(
    Array.from(
      { length: 20 },
      (_, i) =>
        fetch(
          new globalThis.Request(
            `http://localhost/?id=${i}&delay=${(i * 7) % 5}`,
          ),
        ).then((r) => r.text()),
    ),
  );
  assert.deepEqual(answers, Array.from({ length: 20 }, (_, i) => `true ${i}`));
  assert.equal(currentRequest(), undefined);
});

Deno.test("errorResponse() maps errors like toHandler()", async () => {
  const request = new Request(new globalThis.Request("http://localhost/"));
  assert.equal(errorResponse(new HttpError(418), request).status, 418);
  const { result } = await quietly(() =>
    Promise.resolve(errorResponse(new Error("x"), request))
  );
  assert.equal(result.status, 500);
});

Deno.test("HttpError checks its status and keeps its cause", () => {
  const cause = new Error("root");
  const error = new HttpError(400, "Bad", { cause });
  assert.equal(error.cause, cause);
  assert.equal(error.name, "HttpError");
  assert.ok(error instanceof Error);
  assert.throws(() => new HttpError(200), RangeError);
  assert.throws(() => new HttpError(600), RangeError);
  assert.throws(() => new HttpError(404.5), RangeError);
  assert.equal(new MethodNotAllowed(["GET"]).name, "MethodNotAllowed");
});

Deno.test("serve() serves a handler and an app with fetch on a real port", async () => {
  const handlerServer = serve(() => new Response("handler"), {
    port: 0,
    hostname: "127.0.0.1",
    onListen() {},
  });
  const appServer = serve({ fetch: toHandler(() => new Response("app")) }, {
    port: 0,
    hostname: "127.0.0.1",
    onListen() {},
  });
  try {
    const a = await fetch(`http://127.0.0.1:${handlerServer.addr.port}/`);
    assert.equal(await a.text(), "handler");
    const b = await fetch(`http://127.0.0.1:${appServer.addr.port}/`);
    assert.equal(await b.text(), "app");
  } finally {
    await handlerServer.shutdown();
    await appServer.shutdown();
  }
});

Deno.test("serve() keeps serving after a handler throws", async () => {
  let calls = 0;
  const server = serve(() => {
    if (calls++ === 0) throw new Error("first call fails");
    return new Response("fine");
  }, { port: 0, hostname: "127.0.0.1", onListen() {}, onError: () => {} });
  try {
    const first = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(first.status, 500);
    await first.body?.cancel();
    const second = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(await second.text(), "fine");
  } finally {
    await server.shutdown();
  }
});

Deno.test("currentRequest() keeps other async context variables", async () => {
  const { AsyncLocalStorage } = await import("node:async_hooks");
  const tenant = new AsyncLocalStorage<string>();
  const fetch = toHandler(async (request) => {
    await Promise.resolve();
    return new Response(`${tenant.getStore()} ${currentRequest() === request}`);
  });
  const text = await tenant.run("acme", async () => {
    const response = await fetch(new globalThis.Request("http://localhost/"));
    assert.equal(tenant.getStore(), "acme");
    return response.text();
  });
  assert.equal(text, "acme true");
});

Deno.test("currentRequest() works where Deno's async context is not exposed", async () => {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("./_fallback_context.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(success);
  assert.equal(
    new TextDecoder().decode(stdout).trim(),
    "true:5,true:1,true:3,true:0",
  );
});

Deno.test("serve() logs the address it listens on once, unless onListen says otherwise", async (t) => {
  const log = console.log;
  const lines: string[] = [];
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  try {
    const cases: {
      name: string;
      options: Parameters<typeof serve>[1];
      expected: (port: number) => string[];
    }[] = [
      {
        name: "all interfaces are shown as localhost",
        options: { port: 0 },
        expected: (port) => [
          `Pesto listening on http://localhost:${port}/ (all interfaces)`,
        ],
      },
      {
        name: "a given host is shown as is",
        options: { port: 0, hostname: "127.0.0.1" },
        expected: (port) => [`Pesto listening on http://127.0.0.1:${port}/`],
      },
      {
        name: "an onListen of the caller replaces the line",
        options: {
          port: 0,
          hostname: "127.0.0.1",
          onListen: ({ port }) => console.log(`mine ${port}`),
        },
        expected: (port) => [`mine ${port}`],
      },
      {
        name: "an empty onListen silences it",
        options: { port: 0, hostname: "127.0.0.1", onListen() {} },
        expected: () => [],
      },
    ];
    for (const { name, options, expected } of cases) {
      await t.step(name, async () => {
        lines.length = 0;
        const server = serve(() => new Response("ok"), options);
        servers.push(server);
        const response = await fetch(
          `http://127.0.0.1:${server.addr.port}/`,
        );
        assert.equal(await response.text(), "ok");
        assert.deepEqual(lines, expected(server.addr.port));
      });
    }
  } finally {
    console.log = log;
    await Promise.all(servers.map((server) => server.shutdown()));
  }
});
