// fromHono(): real Hono middleware around a DispatcherApp with sessions.
// Each middleware is checked for its statuses, headers and bodies, and each
// stack for what must pass through it unchanged: the session, a Pesto
// HttpError, a redirect, onClose callbacks and spooled uploads.
import assert from "node:assert/strict";
import {
  compose,
  conditional,
  DispatcherApp,
  type FileUpload,
  fromFetch,
  type Handler,
  HttpError,
  type Middleware,
  mount,
  Request,
  Response,
  sessionMiddleware,
  useXForwarded,
} from "@pesto/pesto";
import { fromHono } from "@pesto/pesto/hono";
import { TestApp } from "@pesto/pesto/testing";
import { basicAuth } from "hono/basic-auth";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { compress } from "hono/compress";
import { cors } from "hono/cors";
import { csrf } from "hono/csrf";
import { getConnInfo } from "hono/deno";
import { etag } from "hono/etag";
import { HTTPException } from "hono/http-exception";
import { ipRestriction } from "hono/ip-restriction";
import { jwt, sign } from "hono/jwt";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { timeout } from "hono/timeout";

const BIG = "<p>Pesto and Hono</p>\n".repeat(400); // 8.8 KB of HTML
const LISTEN = { hostname: "127.0.0.1", port: 0, onListen() {} };

/** What the app saw and did, per test. */
interface Log {
  calls: number;
  closed: string[];
  uploads: FileUpload[];
}

/**
 * The app every stack wraps. Each route counts a visit in the session, so
 * every answer that went through the app sets or keeps the session.
 */
function makeApp(log: Log): DispatcherApp {
  const app = new DispatcherApp();
  const visit = (request: Request) => {
    log.calls++;
    request.session.set(
      "visits",
      (request.session.get<number>("visits") ?? 0) + 1,
    );
  };
  app.match("/", "GET", (request) => {
    visit(request);
    return new Response("home");
  });
  app.match("/visits", "GET", (request) => {
    visit(request);
    return new Response(String(request.session.get("visits")));
  });
  app.match("/big", "GET", (request) => {
    visit(request);
    return new Response(BIG, { headers: { ETag: '"big-v1"' } });
  });
  app.match("/small", "GET", (request) => {
    visit(request);
    return new Response("tiny", { headers: { "Content-Length": "4" } });
  });
  app.match("/tiny", "GET", (request) => {
    visit(request);
    return new Response("tiny");
  });
  app.match("/tiny-buffered", "GET", async (request) => {
    visit(request);
    return await new Response("tiny").buffered();
  });
  app.match("/vars", ["GET", "POST"], async (request) => {
    visit(request);
    const body = request.method === "POST" ? await request.text() : undefined;
    return Response.json({ ...Object.fromEntries(request.vars), body });
  });
  app.match("/varied", "GET", (request) => {
    visit(request);
    return new Response("varied", { headers: { Vary: "Accept-Language" } });
  });
  app.match("/echo", "POST", async (request) => {
    visit(request);
    return new Response(await request.text(), { contentType: "text/plain" });
  });
  app.match("/form", "POST", async (request) => {
    visit(request);
    return new Response(`name=${await request.get("name")}`);
  });
  app.match("/upload", "POST", async (request) => {
    visit(request);
    const file = (await request.files()).get("file")!;
    log.uploads.push(file);
    const bytes = await file.bytes();
    return new Response(
      `${file.filename} ${bytes.byteLength} ${bytes.every((b) => b === 0x55)}`,
    );
  });
  app.match("/teapot", "GET", (request) => {
    visit(request);
    throw new HttpError(418, "Short and stout");
  });
  app.match("/go", "GET", (request) => {
    visit(request);
    return Response.redirect("/visits", 303);
  });
  app.match("/slow", "GET", async (request) => {
    visit(request);
    await new Promise((resolve) => setTimeout(resolve, 150));
    return new Response("late").onClose(() => {
      log.closed.push("slow");
    });
  });
  app.match("/closing", "GET", (request) => {
    visit(request);
    return new Response(BIG).onClose(() => {
      log.closed.push("closing");
    });
  });
  app.match("/closing-empty", "GET", (request) => {
    visit(request);
    return new Response(null, { status: 204 }).onClose(() => {
      log.closed.push("closing-empty");
    });
  });
  return app;
}

/** A client of `compose(...middlewares, sessionMiddleware())(app)`. */
function stack(...middlewares: Middleware[]): { client: TestApp; log: Log } {
  const log: Log = { calls: 0, closed: [], uploads: [] };
  const fetch = compose(...middlewares, sessionMiddleware())(makeApp(log));
  return { client: new TestApp({ fetch }), log };
}

async function gunzip(bytes: Uint8Array): Promise<string> {
  const stream = new Blob([bytes.slice()]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

/** Waits for what runs once a response is sent. */
function settle(ms = 10): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function hasSession(headers: Headers): boolean {
  return headers.getSetCookie().some((c) => c.startsWith("pesto_session="));
}

// ---------------------------------------------------------------------------
// The adapter itself

Deno.test("fromHono() passes the same web request and info on, and answers with the app's own response", async () => {
  const raw = new globalThis.Request("http://x.test/a");
  const info = {
    remoteAddr: { transport: "tcp" as const, hostname: "192.0.2.1", port: 1 },
    completed: Promise.resolve(),
  };
  const answer = new Response("as it is");
  let seen: [globalThis.Request, unknown] | undefined;
  let env: unknown;
  const fetch = fromHono(async (c, next) => {
    env = c.env;
    await next();
  })((request: globalThis.Request, i?: Deno.ServeHandlerInfo) => {
    seen = [request, i];
    return Promise.resolve(answer);
  });
  const response = await fetch(raw, info);
  assert.equal(response, answer, "the response itself");
  assert.equal(seen?.[0], raw, "the same web request");
  assert.equal(seen?.[1], info, "the same info");
  assert.equal(env, info, "c.env is the info, as under Deno.serve");
});

Deno.test("fromHono() gives c.env the connection info: getConnInfo and ipRestriction work", async () => {
  const log: Log = { calls: 0, closed: [], uploads: [] };
  const fetch = compose(
    fromHono(ipRestriction(getConnInfo, { denyList: ["203.0.113.0/24"] })),
    sessionMiddleware(),
  )(makeApp(log));
  const allowed = await new TestApp({ fetch }, { remoteAddr: "192.0.2.7" })
    .get("/");
  assert.equal(allowed.status, 200);
  assert.equal(allowed.text, "home");
  const denied = await new TestApp({ fetch }, { remoteAddr: "203.0.113.9" })
    .get("/");
  assert.equal(denied.status, 403);
  assert.equal(log.calls, 1);
});

Deno.test("fromHono() makes a fetch handler that also takes a Pesto Request, and goes in a route", async () => {
  const inner = new DispatcherApp();
  inner.match("/", "GET", () => new Response("inner"));
  const fetch = fromHono(secureHeaders())(inner);
  const asHandler = fetch as unknown as Handler<[]>;
  const direct = await asHandler(
    new Request(new globalThis.Request("http://x/")),
  );
  assert.equal(await direct.text(), "inner");
  assert.equal(direct.headers.get("x-content-type-options"), "nosniff");
  const app = new DispatcherApp();
  app.match("/", "GET", fromFetch(fetch));
  const r = await new TestApp(app).get("/");
  assert.equal(r.text, "inner");
  assert.equal(r.getHeader("x-content-type-options"), "nosniff");
});

Deno.test("fromHono() shares request.vars with Hono's c.set() and c.get()", async (t) => {
  await t.step("c.set() before next() is in request.vars", async () => {
    const { client } = stack(fromHono(async (c, next) => {
      c.set("user", "ada");
      c.set("roles", ["cook"]);
      await next();
    }));
    assert.deepEqual((await client.get("/vars")).json(), {
      user: "ada",
      roles: ["cook"],
    });
  });
  await t.step(
    "request.vars set before is read by c.get(), across two fromHono()",
    async () => {
      const seen: unknown[] = [];
      const pesto: Middleware = (next) => (raw, info) => {
        new Request(raw).vars.set("tenant", "t1");
        return next(raw, info);
      };
      const { client } = stack(
        pesto,
        fromHono(async (c, next) => {
          c.set("first", `${c.get("tenant")}-1`);
          await next();
        }),
        fromHono(async (c, next) => {
          seen.push(c.get("tenant"), c.get("first"));
          await next();
        }),
      );
      assert.deepEqual((await client.get("/vars")).json(), {
        tenant: "t1",
        first: "t1-1",
      });
      assert.deepEqual(seen, ["t1", "t1-1"]);
    },
  );
});

Deno.test("fromHono() adds the headers set with c.header() before next() and keeps the app's", async () => {
  const { client } = stack(fromHono(async (c, next) => {
    c.header("X-Before", "1");
    c.header("Set-Cookie", "hono=1; Path=/", { append: true });
    c.header("Vary", "X-Tenant");
    await next();
    c.header("X-After", "2");
  }));
  const r = await client.get("/varied");
  assert.equal(r.text, "varied");
  assert.equal(r.getHeader("x-before"), "1");
  assert.equal(r.getHeader("vary"), "Accept-Language, X-Tenant");
  assert.equal(r.getHeader("x-after"), "2");
  const cookies = r.headers.getSetCookie();
  assert.ok(cookies.includes("hono=1; Path=/"), cookies.join(" | "));
  assert.ok(hasSession(r.headers), "the session's cookie kept");
});

Deno.test("fromHono() adds the headers set before next() to a response whose headers cannot change", async () => {
  const fetch = fromHono(async (c, next) => {
    c.header("X-Request-Id", "r-9");
    await next();
  })(() =>
    Promise.resolve(globalThis.Response.redirect("http://x.test/there", 307))
  );
  const r = await fetch(new globalThis.Request("http://x.test/"));
  assert.equal(r.status, 307);
  assert.equal(r.headers.get("location"), "http://x.test/there");
  assert.equal(r.headers.get("x-request-id"), "r-9");
});

Deno.test("fromHono() throws on the app's errors and the middleware's own, unchanged", async (t) => {
  await t.step("the app's error", async () => {
    const boom = new Error("from the app");
    const fetch = fromHono(async (_c, next) => {
      await next();
    })(() => Promise.reject(boom));
    await assert.rejects(
      () => fetch(new globalThis.Request("http://x/")),
      (e) => e === boom,
    );
  });
  await t.step(
    "the app's error, through a middleware that catches and rethrows it",
    async () => {
      const boom = new Error("from the app");
      const fetch = fromHono(async (_c, next) => {
        try {
          await next();
        } catch (error) {
          throw error;
        }
      })(() => Promise.reject(boom));
      await assert.rejects(
        () => fetch(new globalThis.Request("http://x/")),
        (e) => e === boom,
      );
    },
  );
  await t.step(
    "the app's error, even one that carries a response",
    async () => {
      const boom = new HTTPException(409, { message: "from the app" });
      const fetch = fromHono(async (_c, next) => {
        await next();
      })(() => Promise.reject(boom));
      await assert.rejects(
        () => fetch(new globalThis.Request("http://x/")),
        (e) => e === boom,
      );
    },
  );
  await t.step("an error without a response, from the middleware", async () => {
    const boom = new TypeError("from the middleware");
    const fetch = fromHono(() => Promise.reject(boom))(
      () => Promise.resolve(new Response("never")),
    );
    await assert.rejects(
      () => fetch(new globalThis.Request("http://x/")),
      (e) => e === boom,
    );
  });
  await t.step(
    "an HTTPException becomes its response, with the headers set before",
    async () => {
      const fetch = fromHono((c) => {
        c.header("X-Trace", "t");
        throw new HTTPException(402, { message: "Pay first" });
      })(() => Promise.resolve(new Response("never")));
      const r = await fetch(new globalThis.Request("http://x/"));
      assert.equal(r.status, 402);
      assert.equal(await r.text(), "Pay first");
      assert.equal(r.headers.get("x-trace"), "t");
    },
  );
  await t.step("a Pesto HttpError of the app is the app's answer", async () => {
    const { client } = stack(fromHono(secureHeaders()));
    const r = await client.get("/teapot");
    assert.equal(r.status, 418);
    assert.match(r.text, /Short and stout/);
    assert.equal(r.getHeader("x-frame-options"), "SAMEORIGIN");
  });
});

Deno.test("fromHono() refuses a middleware that is no function, and one that never answers", async () => {
  assert.throws(
    () => fromHono("cors" as never),
    new TypeError(
      "Cannot use fromHono(): expected a Hono middleware function, got string",
    ),
  );
  const silent = fromHono(async () => {})(() =>
    Promise.resolve(new Response("never"))
  );
  await assert.rejects(
    () => silent(new globalThis.Request("http://x/")),
    /neither returned a response nor called next\(\)/,
  );
  const twice = fromHono(async (_c, next) => {
    await next();
    await next();
  })(() => Promise.resolve(new Response("once")));
  await assert.rejects(
    () => twice(new globalThis.Request("http://x/")),
    /Cannot call next\(\) twice/,
  );
});

Deno.test("fromHono(): c.notFound() is Pesto's 404", async () => {
  const fetch = fromHono((c) => Promise.resolve(c.notFound()))(
    () => Promise.resolve(new Response("never")),
  );
  const r = await fetch(new globalThis.Request("http://x/"));
  assert.equal(r.status, 404);
  assert.match(await r.text(), /Not Found/);
});

Deno.test("fromHono() lets HEAD through as HEAD, and c.req.path is the path below a mount", async () => {
  const methods: string[] = [];
  const paths: string[] = [];
  const log: Log = { calls: 0, closed: [], uploads: [] };
  const spy = fromHono(async (c, next) => {
    methods.push(c.req.method);
    paths.push(c.req.path);
    await next();
  });
  const fetch = mount({
    "/m": spy(compose(sessionMiddleware())(makeApp(log))),
  });
  const client = new TestApp({ fetch });
  const head = await client.head("/m/big");
  assert.equal(head.status, 200);
  assert.equal(head.text, "");
  assert.equal(head.getHeader("etag"), '"big-v1"');
  const get = await client.get("/m/big");
  assert.equal(get.text, BIG);
  assert.deepEqual(methods, ["HEAD", "GET"]);
  assert.deepEqual(paths, ["/big", "/big"]);
});

Deno.test("fromHono() behind useXForwarded: Hono sees the forwarded URL and client", async () => {
  const seen: string[] = [];
  const log: Log = { calls: 0, closed: [], uploads: [] };
  const fetch = compose(
    useXForwarded(),
    fromHono(async (c, next) => {
      seen.push(c.req.url, getConnInfo(c).remote.address ?? "");
      await next();
    }),
    sessionMiddleware(),
  )(makeApp(log));
  const r = await new TestApp({ fetch }).get("/", {
    headers: {
      "X-Forwarded-Host": "shop.example",
      "X-Forwarded-Proto": "https",
      "X-Forwarded-For": "198.51.100.4",
    },
  });
  assert.equal(r.text, "home");
  assert.deepEqual(seen, ["https://shop.example/", "198.51.100.4"]);
});

// ---------------------------------------------------------------------------
// Hono's middleware, one by one

Deno.test("fromHono(cors()): preflight and actual requests, with credentials", async (t) => {
  const { client, log } = stack(fromHono(cors({
    origin: ["https://app.example"],
    credentials: true,
    allowHeaders: ["X-Token"],
    exposeHeaders: ["X-Count"],
    maxAge: 600,
  })));
  await t.step("a preflight is answered by Hono, without the app", async () => {
    const r = await client.request("OPTIONS", "/echo", {
      headers: {
        Origin: "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-token",
      },
    });
    assert.equal(r.status, 204);
    assert.equal(r.text, "");
    assert.equal(
      r.getHeader("access-control-allow-origin"),
      "https://app.example",
    );
    assert.equal(r.getHeader("access-control-allow-credentials"), "true");
    assert.match(r.getHeader("access-control-allow-methods")!, /\bPOST\b/);
    assert.equal(r.getHeader("access-control-allow-headers"), "X-Token");
    assert.equal(r.getHeader("access-control-max-age"), "600");
    assert.match(r.getHeader("vary")!, /Origin/);
    assert.equal(log.calls, 0);
  });
  await t.step(
    "an actual request reaches the app; the session is kept",
    async () => {
      const first = await client.get("/visits", {
        headers: { Origin: "https://app.example" },
      });
      assert.equal(first.status, 200);
      assert.equal(first.text, "1");
      assert.equal(
        first.getHeader("access-control-allow-origin"),
        "https://app.example",
      );
      assert.equal(first.getHeader("access-control-allow-credentials"), "true");
      assert.equal(first.getHeader("access-control-expose-headers"), "X-Count");
      assert.match(first.getHeader("vary")!, /Origin/);
      assert.ok(hasSession(first.headers));
      const second = await client.get("/visits", {
        headers: { Origin: "https://app.example" },
      });
      assert.equal(second.text, "2");
    },
  );
  await t.step("another origin gets no Allow-Origin", async () => {
    const r = await client.get("/", {
      headers: { Origin: "https://evil.example" },
    });
    assert.equal(r.status, 200);
    assert.equal(r.getHeader("access-control-allow-origin"), undefined);
  });
});

Deno.test("fromHono(compress()): gzip that decodes to the original, Vary, and no compression where none is due", async (t) => {
  const { client } = stack(fromHono(compress()), conditional());
  const gzip = { "Accept-Encoding": "gzip, deflate, br" };
  await t.step("a big HTML page is gzipped", async () => {
    const r = await client.get("/big", { headers: gzip });
    assert.equal(r.status, 200);
    assert.equal(r.getHeader("content-encoding"), "gzip");
    assert.equal(r.getHeader("vary"), "Accept-Encoding");
    assert.equal(r.getHeader("content-length"), undefined);
    assert.equal(r.getHeader("etag"), 'W/"big-v1"');
    assert.ok(r.bytes.byteLength < BIG.length / 10, `${r.bytes.byteLength}`);
    assert.equal(await gunzip(r.bytes), BIG);
    assert.ok(hasSession(r.headers));
  });
  await t.step(
    "without Accept-Encoding: the body as it is, still Vary",
    async () => {
      const r = await client.get("/big");
      assert.equal(r.getHeader("content-encoding"), undefined);
      assert.equal(r.getHeader("vary"), "Accept-Encoding");
      assert.equal(r.text, BIG);
    },
  );
  await t.step("a 304 is not compressed", async () => {
    const r = await client.get("/big", {
      headers: { ...gzip, "If-None-Match": '"big-v1"' },
    });
    assert.equal(r.status, 304);
    assert.equal(r.getHeader("content-encoding"), undefined);
    assert.equal(r.bytes.byteLength, 0);
  });
  await t.step(
    "a small body with its Content-Length is not compressed",
    async () => {
      const r = await client.get("/small", { headers: gzip });
      assert.equal(r.getHeader("content-encoding"), undefined);
      assert.equal(r.text, "tiny");
    },
  );
  await t.step(
    "a small Pesto body: compressed without a Content-Length (as in Hono), not with one",
    async () => {
      const r = await client.get("/tiny", { headers: gzip });
      assert.equal(r.getHeader("content-encoding"), "gzip");
      assert.equal(await gunzip(r.bytes), "tiny");
      const buffered = await client.get("/tiny-buffered", { headers: gzip });
      assert.equal(buffered.getHeader("content-encoding"), undefined);
      assert.equal(buffered.getHeader("content-length"), "4");
      assert.equal(buffered.text, "tiny");
    },
  );
  await t.step("a HEAD is not compressed", async () => {
    const r = await client.head("/big", { headers: gzip });
    assert.equal(r.status, 200);
    assert.equal(r.getHeader("content-encoding"), undefined);
  });
});

Deno.test("fromHono(compress()) served by Deno.serve: the client decodes the original", async () => {
  const log: Log = { calls: 0, closed: [], uploads: [] };
  const server = Deno.serve(
    LISTEN,
    compose(fromHono(compress()), sessionMiddleware())(makeApp(log)),
  );
  try {
    const r = await fetch(`http://127.0.0.1:${server.addr.port}/closing`, {
      headers: { "Accept-Encoding": "gzip" },
    });
    assert.equal(r.headers.get("content-encoding"), "gzip");
    assert.equal(await r.text(), BIG);
    await settle(50);
    assert.deepEqual(log.closed, ["closing"]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("fromHono(secureHeaders()): the headers on answers, errors and redirects", async () => {
  const { client } = stack(fromHono(secureHeaders()));
  for (const path of ["/", "/teapot", "/go"]) {
    const r = await client.get(path);
    assert.equal(r.status, { "/": 200, "/teapot": 418, "/go": 303 }[path]);
    assert.equal(r.getHeader("x-frame-options"), "SAMEORIGIN", path);
    assert.equal(r.getHeader("x-content-type-options"), "nosniff", path);
    assert.equal(
      r.getHeader("strict-transport-security"),
      "max-age=15552000; includeSubDomains",
      path,
    );
    assert.equal(r.getHeader("referrer-policy"), "no-referrer", path);
    assert.equal(
      r.getHeader("cross-origin-opener-policy"),
      "same-origin",
      path,
    );
    if (path === "/") assert.ok(hasSession(r.headers), "a new session");
  }
  assert.equal((await client.get("/visits")).text, "4", "one session");
});

Deno.test("fromHono(csrf()): cross-site form posts refused, same-origin ones served", async () => {
  const { client, log } = stack(fromHono(csrf()));
  const form = { name: "ada" };
  const evil = await client.post("/form", {
    form,
    headers: { Origin: "https://evil.example" },
  });
  assert.equal(evil.status, 403);
  assert.equal(evil.text, "Forbidden");
  const crossSite = await client.post("/form", {
    form,
    headers: { "Sec-Fetch-Site": "cross-site" },
  });
  assert.equal(crossSite.status, 403);
  assert.equal(log.calls, 0);
  const same = await client.post("/form", {
    form,
    headers: { Origin: "http://localhost" },
  });
  assert.equal(same.status, 200);
  assert.equal(same.text, "name=ada");
  const fetchMetadata = await client.post("/form", {
    form,
    headers: {
      "Sec-Fetch-Site": "same-origin",
      Origin: "https://evil.example",
    },
  });
  assert.equal(fetchMetadata.status, 200);
  assert.equal(log.calls, 2);
});

Deno.test("fromHono(requestId()): the id in request.vars and in the X-Request-Id header", async () => {
  const { client } = stack(fromHono(requestId()));
  const r = await client.get("/vars");
  const id = r.getHeader("x-request-id");
  assert.match(id!, /^[0-9a-f-]{36}$/);
  assert.deepEqual(r.json(), { requestId: id });
  assert.ok(hasSession(r.headers));
  const given = await client.get("/vars", {
    headers: { "X-Request-Id": "abc-123" },
  });
  assert.equal(given.getHeader("x-request-id"), "abc-123");
  assert.deepEqual(given.json(), { requestId: "abc-123" });
});

Deno.test("fromHono(basicAuth()): 401 without credentials, the user in request.vars with them", async () => {
  const { client, log } = stack(fromHono(basicAuth({
    username: "ada",
    password: "s3cret",
    realm: "Kitchen",
    onAuthSuccess: (c, username) => c.set("user", username),
  })));
  const none = await client.get("/vars");
  assert.equal(none.status, 401);
  assert.equal(none.getHeader("www-authenticate"), 'Basic realm="Kitchen"');
  assert.equal(none.text, "Unauthorized");
  const wrong = await client.get("/vars", {
    headers: { Authorization: `Basic ${btoa("ada:nope")}` },
  });
  assert.equal(wrong.status, 401);
  assert.equal(log.calls, 0);
  const right = await client.get("/vars", {
    headers: { Authorization: `Basic ${btoa("ada:s3cret")}` },
  });
  assert.equal(right.status, 200);
  assert.deepEqual(right.json(), { user: "ada" });
  assert.ok(hasSession(right.headers));
});

Deno.test("fromHono(bearerAuth()): missing, malformed, wrong and right tokens", async () => {
  const { client, log } = stack(fromHono(bearerAuth({ token: "tok-42" })));
  const none = await client.get("/");
  assert.equal(none.status, 401);
  assert.equal(none.getHeader("www-authenticate"), 'Bearer realm=""');
  const malformed = await client.get("/", {
    headers: { Authorization: "Bearer !!" },
  });
  assert.equal(malformed.status, 400);
  assert.equal(
    malformed.getHeader("www-authenticate"),
    'Bearer error="invalid_request"',
  );
  const wrong = await client.get("/", {
    headers: { Authorization: "Bearer tok-43" },
  });
  assert.equal(wrong.status, 401);
  assert.equal(
    wrong.getHeader("www-authenticate"),
    'Bearer error="invalid_token"',
  );
  assert.equal(log.calls, 0);
  const right = await client.get("/", {
    headers: { Authorization: "Bearer tok-42" },
  });
  assert.equal(right.status, 200);
  assert.equal(right.text, "home");
});

Deno.test("fromHono(jwt()): the verified payload in request.vars", async () => {
  const secret = "a-very-secret-secret";
  const { client, log } = stack(fromHono(jwt({ secret, alg: "HS256" })));
  const exp = Math.floor(Date.now() / 1000) + 60;
  const token = await sign({ sub: "ada", role: "cook", exp }, secret, "HS256");
  const r = await client.get("/vars", {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), {
    jwtPayload: { sub: "ada", role: "cook", exp },
  });
  const none = await client.get("/vars");
  assert.equal(none.status, 401);
  assert.match(none.getHeader("www-authenticate")!, /invalid_request/);
  const forged = await sign({ sub: "eve", exp }, "another-secret", "HS256");
  const bad = await client.get("/vars", {
    headers: { Authorization: `Bearer ${forged}` },
  });
  assert.equal(bad.status, 401);
  assert.match(bad.getHeader("www-authenticate")!, /invalid_token/);
  assert.equal(log.calls, 1);
});

Deno.test("fromHono(timeout()): a slow handler gets Hono's 504; its late response is cancelled", async () => {
  const { client, log } = stack(fromHono(timeout(50)));
  const fast = await client.get("/");
  assert.equal(fast.status, 200);
  assert.equal(fast.text, "home");
  const slow = await client.get("/slow");
  assert.equal(slow.status, 504);
  assert.equal(slow.text, "Gateway Timeout");
  assert.deepEqual(log.closed, []);
  await settle(250);
  assert.deepEqual(log.closed, ["slow"], "the late response's onClose ran");
});

Deno.test("fromHono(bodyLimit()): 413 from Hono, and a body within the limit still readable", async (t) => {
  const { client, log } = stack(fromHono(bodyLimit({ maxSize: 100 })));
  const streamed = (text: string) =>
    new Blob([text]).stream() as ReadableStream<Uint8Array>;
  await t.step("a declared length over the limit", async () => {
    const r = await client.post("/echo", {
      body: "x".repeat(101),
      headers: { "Content-Length": "101", "Content-Type": "text/plain" },
    });
    assert.equal(r.status, 413);
    assert.equal(r.text, "Payload Too Large");
    assert.equal(log.calls, 0);
  });
  await t.step("a streamed body over the limit", async () => {
    const r = await client.post("/echo", { body: streamed("y".repeat(500)) });
    assert.equal(r.status, 413);
    assert.equal(log.calls, 0);
  });
  await t.step("a declared length within the limit", async () => {
    const r = await client.post("/echo", {
      body: "z".repeat(100),
      headers: { "Content-Length": "100", "Content-Type": "text/plain" },
    });
    assert.equal(r.status, 200);
    assert.equal(r.text, "z".repeat(100));
  });
  await t.step(
    "a streamed body within the limit (Hono replaces the request)",
    async () => {
      const r = await client.post("/echo", { body: streamed("w".repeat(60)) });
      assert.equal(r.status, 200);
      assert.equal(r.text, "w".repeat(60));
    },
  );
  await t.step(
    "a form read through the replaced request; the session kept",
    async () => {
      const r = await client.post("/form", {
        body: streamed("name=grace"),
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
      assert.equal(r.text, "name=grace");
      assert.equal((await client.get("/visits")).text, "4");
    },
  );
});

Deno.test("fromHono(bodyLimit()) replacing the request keeps its record: the session and vars from outside", async () => {
  const log: Log = { calls: 0, closed: [], uploads: [] };
  const fetch = compose(
    sessionMiddleware(),
    fromHono(requestId({ generator: () => "id-7" })),
    fromHono(bodyLimit({ maxSize: 100 })),
  )(makeApp(log));
  const client = new TestApp({ fetch });
  const r = await client.post("/vars", {
    body: new Blob(["streamed"]).stream() as ReadableStream<Uint8Array>,
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json(), { requestId: "id-7", body: "streamed" });
  assert.ok(hasSession(r.headers));
  assert.equal((await client.get("/visits")).text, "2");
});

Deno.test("fromHono(): a body the middleware read through c.req is read again by the app", async (t) => {
  await t.step("c.req.text()", async () => {
    const seen: string[] = [];
    const { client } = stack(fromHono(async (c, next) => {
      seen.push(await c.req.text());
      await next();
    }));
    const r = await client.post("/echo", {
      body: "signed payload",
      headers: { "Content-Type": "text/plain" },
    });
    assert.equal(r.text, "signed payload");
    assert.deepEqual(seen, ["signed payload"]);
  });
  await t.step("c.req.parseBody() of a form", async () => {
    const { client } = stack(fromHono(async (c, next) => {
      c.set("parsed", (await c.req.parseBody()).name);
      await next();
    }));
    const r = await client.post("/form", { form: { name: "ada" } });
    assert.equal(r.text, "name=ada");
  });
  await t.step(
    "c.req.formData() of an upload (a new multipart body)",
    async () => {
      const { client, log } = stack(fromHono(async (c, next) => {
        c.set("fields", [...(await c.req.formData()).keys()]);
        await next();
      }));
      const r = await client.postMultipart("/upload", {
        files: [{
          field: "file",
          filename: "f.bin",
          content: new Uint8Array(1000).fill(0x55),
        }],
      });
      assert.equal(r.text, "f.bin 1000 true");
      assert.equal(log.uploads.length, 1);
    },
  );
});

Deno.test("fromHono(bodyLimit()) served by Deno.serve: 413 before the app, bodies within it read", async () => {
  const log: Log = { calls: 0, closed: [], uploads: [] };
  const server = Deno.serve(
    LISTEN,
    compose(fromHono(bodyLimit({ maxSize: 1000 })), sessionMiddleware())(
      makeApp(log),
    ),
  );
  const url = `http://127.0.0.1:${server.addr.port}/echo`;
  try {
    const over = await fetch(url, { method: "POST", body: "o".repeat(1001) });
    assert.equal(over.status, 413);
    assert.equal(await over.text(), "Payload Too Large");
    const within = await fetch(url, { method: "POST", body: "i".repeat(1000) });
    assert.equal(within.status, 200);
    assert.equal(await within.text(), "i".repeat(1000));
    assert.equal(log.calls, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("fromHono(etag()): an ETag, then 304 on the second request", async () => {
  const { client } = stack(fromHono(etag()));
  const first = await client.get("/");
  assert.equal(first.status, 200);
  assert.equal(first.text, "home");
  const tag = first.getHeader("etag")!;
  assert.match(tag, /^"[0-9a-f]{40}"$/);
  assert.ok(hasSession(first.headers));
  const second = await client.get("/", { headers: { "If-None-Match": tag } });
  assert.equal(second.status, 304);
  assert.equal(second.bytes.byteLength, 0);
  assert.equal(second.getHeader("etag"), tag);
  const changed = await client.get("/", {
    headers: { "If-None-Match": '"other"' },
  });
  assert.equal(changed.status, 200);
  assert.equal(changed.text, "home");
});

// ---------------------------------------------------------------------------
// What must pass through every stack

/** Every middleware of these tests that lets a plain GET through. */
function everything(): Middleware[] {
  return [
    fromHono(cors({ origin: "https://app.example", credentials: true })),
    fromHono(secureHeaders()),
    fromHono(requestId()),
    fromHono(compress()),
    fromHono(etag()),
    fromHono(csrf()),
    fromHono(timeout(1000)),
    fromHono(bodyLimit({ maxSize: 1 << 20 })),
  ];
}

Deno.test("through every middleware: a Pesto HttpError, a redirect and the session", async () => {
  const { client } = stack(...everything());
  const teapot = await client.get("/teapot", {
    headers: { Origin: "https://app.example" },
  });
  assert.equal(teapot.status, 418);
  assert.match(teapot.text, /Short and stout/);
  assert.equal(
    teapot.getHeader("access-control-allow-origin"),
    "https://app.example",
  );
  assert.equal(teapot.getHeader("x-content-type-options"), "nosniff");
  assert.ok(teapot.getHeader("x-request-id"));
  const go = await client.get("/go", { followRedirects: false });
  assert.equal(go.status, 303);
  assert.equal(go.getHeader("location"), "http://localhost/visits");
  const followed = await client.get("/go", { followRedirects: true });
  assert.equal(followed.status, 200);
  assert.equal(followed.text, "4");
});

Deno.test("through every middleware: onClose callbacks run once", async (t) => {
  for (
    const [name, middlewares] of [
      ["each alone", everything().map((m) => [m])],
      ["all together", [everything()]],
    ] as const
  ) {
    await t.step(name, async () => {
      for (const list of middlewares) {
        const { client, log } = stack(...list);
        const full = await client.get("/closing", {
          headers: { "Accept-Encoding": "gzip", Origin: "https://app.example" },
        });
        assert.equal(full.status, 200);
        const empty = await client.get("/closing-empty", {
          headers: { Origin: "https://app.example" },
        });
        assert.equal(empty.status, 204);
        await settle();
        assert.deepEqual(log.closed.toSorted(), ["closing", "closing-empty"]);
      }
    });
  }
});

Deno.test("through compress and bodyLimit: a spooled upload is read, and its file removed once the response is sent", async (t) => {
  const content = new Uint8Array(200_000).fill(0x55); // over 64 KiB: spooled
  const limits = [
    fromHono(compress()),
    fromHono(bodyLimit({ maxSize: 1 << 20 })),
  ];
  // A spooled upload's temporary file is gone (an upload kept in memory
  // says instead that it was released).
  // A spooled upload read after its response: the file is gone (the cause),
  // which an upload held in memory has not.
  const fileRemoved = (error: Error) =>
    error instanceof Deno.errors.NotFound &&
    error.cause instanceof Deno.errors.NotFound;
  await t.step(
    "a multipart body (Hono buffers it and replaces the request)",
    async () => {
      const { client, log } = stack(...limits);
      const r = await client.postMultipart("/upload", {
        fields: { note: "hi" },
        files: [{ field: "file", filename: "u.bin", content }],
      });
      assert.equal(r.status, 200);
      assert.equal(r.text, "u.bin 200000 true");
      await settle();
      assert.equal(log.uploads.length, 1);
      await assert.rejects(() => log.uploads[0].bytes(), fileRemoved);
    },
  );
  await t.step("served by Deno.serve, with a Content-Length", async () => {
    const log: Log = { calls: 0, closed: [], uploads: [] };
    const server = Deno.serve(
      LISTEN,
      compose(...limits, sessionMiddleware())(makeApp(log)),
    );
    try {
      const form = new FormData();
      form.append("file", new File([content], "s.bin"));
      const r = await fetch(`http://127.0.0.1:${server.addr.port}/upload`, {
        method: "POST",
        body: form,
      });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), "s.bin 200000 true");
      await settle(50);
      await assert.rejects(() => log.uploads[0].bytes(), fileRemoved);
      const over = new FormData();
      over.append("file", new File([new Uint8Array(2 << 20)], "big.bin"));
      const refused = await fetch(
        `http://127.0.0.1:${server.addr.port}/upload`,
        { method: "POST", body: over },
      );
      assert.equal(refused.status, 413);
      await refused.body?.cancel();
      assert.equal(log.uploads.length, 1);
    } finally {
      await server.shutdown();
    }
  });
});
