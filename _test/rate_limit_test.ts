import assert from "node:assert/strict";
import {
  compose,
  DispatcherApp,
  HttpError,
  KvRateLimitStore,
  MemoryRateLimitStore,
  rateLimit,
  type RateLimitOptions,
  type RateLimitStore,
  RedisRateLimitStore,
  Response,
  toHandler,
  useXForwarded,
} from "@pesto/pesto";
import { createClient } from "@redis/client";
import { freePort, startRedisServer } from "./_process.ts";

// ---------------------------------------------------------------------------
// Redis: PESTO_REDIS_URL when it answers (CI starts redis-server on
// 127.0.0.1:6399 and sets it), else a redis-server this file starts on a
// free port and stops when the process ends, else the Redis tests are
// ignored, saying why.

async function answers(url: string): Promise<boolean> {
  const client = createClient({
    url,
    socket: { connectTimeout: 1000, reconnectStrategy: false },
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

async function startRedis(): Promise<string | undefined> {
  const port = freePort();
  let child: Deno.ChildProcess;
  try {
    child = await startRedisServer(port);
  } catch {
    return undefined; // not installed, or it did not start
  }
  child.unref();
  globalThis.addEventListener("unload", () => {
    try {
      child.kill();
    } catch { /* already gone */ }
  });
  return `redis://127.0.0.1:${port}`;
}

async function findRedis(): Promise<string | undefined> {
  const given = Deno.env.get("PESTO_REDIS_URL");
  if (given && await answers(given)) return given;
  const started = await startRedis();
  if (started) {
    console.warn(
      `rate_limit_test: ${
        given
          ? `PESTO_REDIS_URL (${given}) does not answer`
          : "PESTO_REDIS_URL is not set"
      }; using a redis-server started on ${started}`,
    );
    return started;
  }
  console.warn(
    `rate_limit_test: Redis tests are IGNORED: ${
      given
        ? `PESTO_REDIS_URL (${given}) does not answer`
        : "PESTO_REDIS_URL is not set"
    } and no redis-server could be started (install redis-server, or set PESTO_REDIS_URL; .ci/run does both)`,
  );
  return undefined;
}

const REDIS_URL = await findRedis();

// ---------------------------------------------------------------------------
// Helpers

const ROOT = new URL("..", import.meta.url);

/** Fails the test when `fn` takes longer than `ms`. */
function bounded(
  ms: number,
  fn: (t: Deno.TestContext) => Promise<void>,
): (t: Deno.TestContext) => Promise<void> {
  return async (t) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`The test took more than ${ms} ms`)),
        ms,
      );
    });
    try {
      await Promise.race([fn(t), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function infoFrom(hostname: string): Deno.ServeHandlerInfo<Deno.NetAddr> {
  return {
    remoteAddr: { transport: "tcp", hostname, port: 40000 },
    completed: Promise.resolve(),
  };
}

const CLIENT = infoFrom("203.0.113.9");

/** An app behind `rateLimit(options)` that counts the requests it sees. */
function limited(options: RateLimitOptions) {
  const seen = { count: 0 };
  const app = toHandler(() => {
    seen.count++;
    return new Response("ok");
  });
  return { fetch: rateLimit(options)(app), seen };
}

function get(
  fetch: (
    request: Request,
    info?: Deno.ServeHandlerInfo,
  ) => Promise<globalThis.Response>,
  info: Deno.ServeHandlerInfo | null = CLIENT,
  init?: RequestInit,
): Promise<globalThis.Response> {
  return fetch(new Request("http://x.test/", init), info ?? undefined);
}

interface StoreFixture {
  store: RateLimitStore;
  /** A second store on the same database or server (not the same object). */
  twin: RateLimitStore | undefined;
  cleanup: () => Promise<void>;
}

const STORES: {
  name: string;
  make: () => Promise<StoreFixture>;
  ignore?: boolean;
}[] = [
  {
    name: "MemoryRateLimitStore",
    make: () => {
      const store = new MemoryRateLimitStore();
      return Promise.resolve({
        store,
        twin: undefined,
        cleanup: () => store.close(),
      });
    },
  },
  {
    name: "KvRateLimitStore",
    make: async () => {
      const kv = await Deno.openKv(":memory:");
      return {
        store: new KvRateLimitStore({ kv, prefix: "t" }),
        twin: new KvRateLimitStore({ kv, prefix: "t" }),
        cleanup: () => Promise.resolve(kv.close()),
      };
    },
  },
  {
    name: "RedisRateLimitStore",
    ignore: !REDIS_URL,
    make: () => {
      const prefix = `pesto_test:${crypto.randomUUID()}:`;
      const store = new RedisRateLimitStore({ url: REDIS_URL, prefix });
      const twin = new RedisRateLimitStore({ url: REDIS_URL, prefix });
      return Promise.resolve({
        store,
        twin,
        cleanup: async () => {
          await dropRedisKeys(prefix);
          await store.close();
          await twin.close();
        },
      });
    },
  },
];

async function dropRedisKeys(prefix: string): Promise<void> {
  const raw = createClient({ url: REDIS_URL });
  await raw.connect();
  try {
    const keys = await raw.keys(prefix + "*");
    if (keys.length) await raw.del(keys);
  } finally {
    raw.destroy();
  }
}

/** `n` sorted counts from `hits`. */
function counts(hits: { count: number }[]): number[] {
  return hits.map((hit) => hit.count).sort((a, b) => a - b);
}

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

// ---------------------------------------------------------------------------
// One suite, run against every store.

for (const { name, make, ignore } of STORES) {
  Deno.test({
    name: `${name} passes the shared RateLimitStore suite`,
    ignore,
    fn: bounded(20_000, async (t) => {
      const { store, twin, cleanup } = await make();
      try {
        await t.step(
          "hit() counts the hits of a key in its window",
          async () => {
            const first = await store.hit("a", 60_000);
            assert.equal(first.count, 1);
            assert.ok(
              first.resetIn > 59_000 && first.resetIn <= 60_000,
              String(first.resetIn),
            );
            await sleep(20);
            const second = await store.hit("a", 60_000);
            assert.equal(second.count, 2);
            assert.ok(second.resetIn < first.resetIn, "the window runs on");
            assert.equal((await store.hit("a", 60_000)).count, 3);
          },
        );

        await t.step("hit() counts separate keys apart", async () => {
          assert.equal((await store.hit("b", 60_000)).count, 1);
          assert.equal((await store.hit("c", 60_000)).count, 1);
          assert.equal((await store.hit("b", 60_000)).count, 2);
          assert.equal((await store.hit("a", 60_000)).count, 4);
        });

        await t.step(
          "hit() starts a new window once one has ended",
          async () => {
            assert.equal((await store.hit("short", 150)).count, 1);
            assert.equal((await store.hit("short", 150)).count, 2);
            await sleep(220);
            const after = await store.hit("short", 150);
            assert.equal(after.count, 1);
            assert.ok(after.resetIn > 100 && after.resetIn <= 150);
            assert.equal((await store.hit("short", 150)).count, 2);
          },
        );

        await t.step(
          "hit() gives 200 concurrent hits 200 different counts",
          async () => {
            const hits = await Promise.all(
              Array.from({ length: 200 }, () => store.hit("busy", 60_000)),
            );
            assert.deepEqual(counts(hits), oneTo(200));
          },
        );

        if (twin) {
          await t.step(
            "two stores on one database share counts atomically",
            async () => {
              const hits = await Promise.all(
                Array.from(
                  { length: 100 },
                  (_, i) => (i % 2 ? store : twin).hit("shared", 60_000),
                ),
              );
              assert.deepEqual(counts(hits), oneTo(100));
            },
          );
        }

        await t.step("hit() takes a long key", async () => {
          const long = "k".repeat(5000);
          assert.equal((await store.hit(long, 60_000)).count, 1);
          assert.equal((await store.hit(long, 60_000)).count, 2);
          assert.equal((await store.hit("k".repeat(4999), 60_000)).count, 1);
        });
      } finally {
        await cleanup();
      }
    }),
  });
}

// ---------------------------------------------------------------------------
// The middleware

Deno.test(
  "rateLimit() adds RateLimit-Policy and RateLimit to allowed answers",
  bounded(5000, async () => {
    const { fetch, seen } = limited({ limit: 3, window: 60_000 });
    for (const left of [2, 1, 0]) {
      const response = await get(fetch);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "ok");
      assert.equal(
        response.headers.get("ratelimit-policy"),
        '"default";q=3;w=60',
      );
      assert.equal(
        response.headers.get("ratelimit"),
        `"default";r=${left};t=60`,
      );
      assert.equal(response.headers.get("retry-after"), null);
    }
    assert.equal(seen.count, 3);
  }),
);

Deno.test(
  "rateLimit() answers 429 with Retry-After, the RateLimit fields and a text body, without calling the app",
  bounded(5000, async () => {
    const { fetch, seen } = limited({ limit: 2, window: 30_000 });
    await (await get(fetch)).body?.cancel();
    await (await get(fetch)).body?.cancel();
    for (let i = 0; i < 3; i++) {
      const response = await get(fetch);
      assert.equal(response.status, 429);
      assert.equal(response.headers.get("retry-after"), "30");
      assert.equal(
        response.headers.get("ratelimit-policy"),
        '"default";q=2;w=30',
      );
      assert.equal(response.headers.get("ratelimit"), '"default";r=0;t=30');
      assert.equal(
        response.headers.get("content-type"),
        "text/plain;charset=UTF-8",
      );
      assert.equal(await response.text(), "Too Many Requests\n");
    }
    assert.equal(seen.count, 2);
  }),
);

Deno.test(
  "rateLimit() lets requests through again once the window has ended",
  bounded(5000, async () => {
    const { fetch } = limited({ limit: 1, window: 200 });
    assert.equal((await get(fetch)).status, 200);
    const refused = await get(fetch);
    assert.equal(refused.status, 429);
    // A window under a second is advertised as one second, rounded up.
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal(refused.headers.get("ratelimit-policy"), '"default";q=1;w=1');
    assert.equal(refused.headers.get("ratelimit"), '"default";r=0;t=1');
    await sleep(260);
    assert.equal((await get(fetch)).status, 200);
  }),
);

Deno.test(
  "rateLimit() rounds the seconds left up",
  bounded(5000, async () => {
    let left = 1001;
    const store: RateLimitStore = {
      hit: (_key, _window) => Promise.resolve({ count: 5, resetIn: left }),
    };
    const { fetch } = limited({ limit: 4, window: 2500, store });
    let response = await get(fetch);
    assert.equal(response.headers.get("retry-after"), "2");
    assert.equal(response.headers.get("ratelimit"), '"default";r=0;t=2');
    assert.equal(response.headers.get("ratelimit-policy"), '"default";q=4;w=3');
    left = 0; // a window ending right now still asks for a second
    response = await get(fetch);
    assert.equal(response.headers.get("retry-after"), "1");
    assert.equal(response.headers.get("ratelimit"), '"default";r=0;t=0');
  }),
);

Deno.test(
  "rateLimit() counts each client address apart by default",
  bounded(5000, async () => {
    const { fetch } = limited({ limit: 1, window: 60_000 });
    assert.equal((await get(fetch, infoFrom("192.0.2.1"))).status, 200);
    assert.equal((await get(fetch, infoFrom("192.0.2.2"))).status, 200);
    assert.equal((await get(fetch, infoFrom("192.0.2.1"))).status, 429);
    assert.equal((await get(fetch, infoFrom("2001:db8::1"))).status, 200);
  }),
);

Deno.test(
  "rateLimit() passes a request without a key, uncounted and unchanged",
  bounded(5000, async (t) => {
    await t.step("no connection info, default key", async () => {
      const { fetch, seen } = limited({ limit: 1, window: 60_000 });
      for (let i = 0; i < 3; i++) {
        const response = await get(fetch, null);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("ratelimit"), null);
        assert.equal(response.headers.get("ratelimit-policy"), null);
      }
      assert.equal(seen.count, 3);
    });
    await t.step("a key function that returns undefined", async () => {
      const hits: string[] = [];
      const store: RateLimitStore = {
        hit(key) {
          hits.push(key);
          return Promise.resolve({ count: 1, resetIn: 1000 });
        },
      };
      const { fetch } = limited({
        limit: 1,
        window: 60_000,
        store,
        key: (request) =>
          request.pathInfo.startsWith("/health") ? undefined : "all",
      });
      const health = await fetch(new Request("http://x.test/health"), CLIENT);
      assert.equal(health.headers.get("ratelimit"), null);
      assert.deepEqual(hits, []);
      await fetch(new Request("http://x.test/other"), CLIENT);
      assert.deepEqual(hits, ["default:all"]);
    });
  }),
);

Deno.test(
  "rateLimit() counts under the key option, sync or async",
  bounded(5000, async (t) => {
    await t.step("sync: a header", async () => {
      const { fetch } = limited({
        limit: 2,
        window: 60_000,
        key: (request) => request.headers.get("x-api-key") ?? undefined,
      });
      const as = (key: string, info = CLIENT) =>
        get(fetch, info, { headers: { "x-api-key": key } });
      assert.equal((await as("one")).status, 200);
      assert.equal((await as("one", infoFrom("192.0.2.50"))).status, 200);
      assert.equal((await as("one")).status, 429, "one key, any address");
      assert.equal((await as("two")).status, 200);
    });
    await t.step(
      "async: a form field, the body still readable after",
      async () => {
        const app = new DispatcherApp();
        const limit = rateLimit({
          name: "login",
          limit: 1,
          window: 60_000,
          key: async (request) => String(await request.get("user")),
        });
        app.match(
          "/login",
          "POST",
          limit(
            toHandler(async (request) =>
              new Response(`hi ${await request.get("user")}`)
            ),
          ),
        );
        const login = (user: string) =>
          app.fetch(
            new Request("http://x.test/login", {
              method: "POST",
              body: new URLSearchParams({ user }),
            }),
            CLIENT,
          );
        const ada = await login("ada");
        assert.equal(await ada.text(), "hi ada");
        assert.equal(ada.headers.get("ratelimit"), '"login";r=0;t=60');
        assert.equal((await login("ada")).status, 429);
        assert.equal(await (await login("grace")).text(), "hi grace");
      },
    );
    await t.step(
      "an HttpError thrown by the key function is the answer",
      async () => {
        const { fetch, seen } = limited({
          limit: 1,
          window: 60_000,
          key: () => {
            throw new HttpError(400, "No API key");
          },
        });
        const response = await get(fetch);
        assert.equal(response.status, 400);
        assert.equal(await response.text(), "No API key\n");
        assert.equal(seen.count, 0);
      },
    );
    await t.step(
      "another error thrown by the key function goes on",
      async () => {
        const { fetch } = limited({
          limit: 1,
          window: 60_000,
          key: () => {
            throw new RangeError("boom");
          },
        });
        await assert.rejects(() => get(fetch), RangeError);
      },
    );
  }),
);

Deno.test(
  "rateLimit() counts the client address useXForwarded() finds behind a trusted proxy",
  bounded(5000, async (t) => {
    const proxy = infoFrom("10.0.0.1");
    const via = (
      fetch: (
        request: Request,
        info?: Deno.ServeHandlerInfo,
      ) => Promise<globalThis.Response>,
      forwardedFor: string,
      info = proxy,
    ) =>
      fetch(
        new Request("http://x.test/", {
          headers: { "x-forwarded-for": forwardedFor },
        }),
        info,
      );
    await t.step(
      "behind useXForwarded(), each client has its own count",
      async () => {
        const app = toHandler(() => new Response("ok"));
        const fetch = compose(
          useXForwarded({ trusted: ["10.0.0.1"] }),
          rateLimit({ limit: 1, window: 60_000 }),
        )(app);
        assert.equal((await via(fetch, "198.51.100.1")).status, 200);
        assert.equal((await via(fetch, "198.51.100.2")).status, 200);
        assert.equal((await via(fetch, "198.51.100.1")).status, 429);
        // What the client put before the proxy's entry is not believed.
        assert.equal(
          (await via(fetch, "192.0.2.77, 198.51.100.1")).status,
          429,
        );
      },
    );
    await t.step(
      "an untrusted peer cannot choose its key with the header",
      async () => {
        const app = toHandler(() => new Response("ok"));
        const fetch = compose(
          useXForwarded({ trusted: ["10.0.0.1"] }),
          rateLimit({ limit: 1, window: 60_000 }),
        )(app);
        const peer = infoFrom("203.0.113.200");
        assert.equal((await via(fetch, "198.51.100.1", peer)).status, 200);
        assert.equal((await via(fetch, "198.51.100.2", peer)).status, 429);
      },
    );
    await t.step(
      "without useXForwarded(), every client is the proxy",
      async () => {
        const { fetch } = limited({ limit: 1, window: 60_000 });
        assert.equal((await via(fetch, "198.51.100.1")).status, 200);
        assert.equal((await via(fetch, "198.51.100.2")).status, 429);
      },
    );
  }),
);

Deno.test(
  "rateLimit() names its policy, and nested limits list both",
  bounded(5000, async () => {
    const app = toHandler(() => new Response("ok"));
    const store = new MemoryRateLimitStore();
    const fetch = compose(
      rateLimit({ limit: 100, window: 3_600_000, store, name: "hourly" }),
      rateLimit({ limit: 2, window: 1000, store, name: 'per "second"\\' }),
    )(app);
    const response = await get(fetch);
    assert.equal(
      response.headers.get("ratelimit-policy"),
      '"per \\"second\\"\\\\";q=2;w=1, "hourly";q=100;w=3600',
    );
    assert.equal(
      response.headers.get("ratelimit"),
      '"per \\"second\\"\\\\";r=1;t=1, "hourly";r=99;t=3600',
    );
    // One store, two names: counted apart.
    assert.equal(store.size, 2);
    await get(fetch);
    const refused = await get(fetch);
    assert.equal(refused.status, 429);
    // The refused request was counted by the outer limit only.
    assert.match(refused.headers.get("ratelimit")!, /"hourly";r=97;t=3600$/);
  }),
);

Deno.test(
  "rateLimit() answers with onLimited, adding the fields",
  bounded(5000, async (t) => {
    await t.step("a JSON body", async () => {
      const told: unknown[] = [];
      const { fetch } = limited({
        limit: 1,
        window: 10_000,
        name: "api",
        onLimited: (request, exceeded) => {
          told.push({ ...exceeded, addr: request.remoteAddr });
          return Response.json({ error: "slow down" }, { status: 429 });
        },
      });
      await (await get(fetch)).body?.cancel();
      const response = await get(fetch);
      assert.equal(response.status, 429);
      assert.deepEqual(await response.json(), { error: "slow down" });
      assert.equal(response.headers.get("retry-after"), "10");
      assert.equal(response.headers.get("ratelimit"), '"api";r=0;t=10');
      assert.equal(response.headers.get("ratelimit-policy"), '"api";q=1;w=10');
      assert.equal(told.length, 1);
      const [exceeded] = told as Record<string, number | string>[];
      assert.equal(exceeded.key, "203.0.113.9");
      assert.equal(exceeded.addr, "203.0.113.9");
      assert.equal(exceeded.name, "api");
      assert.equal(exceeded.limit, 1);
      assert.equal(exceeded.count, 2);
      assert.equal(exceeded.retryAfter, 10);
      assert.ok((exceeded.resetIn as number) <= 10_000);
    });
    await t.step(
      "a web response with immutable headers",
      async () => {
        const { fetch } = limited({
          limit: 1,
          window: 10_000,
          onLimited: () =>
            globalThis.Response.redirect("http://x.test/wait", 303),
        });
        await (await get(fetch)).body?.cancel();
        const response = await get(fetch);
        assert.equal(response.status, 303);
        assert.equal(response.headers.get("location"), "http://x.test/wait");
        assert.equal(response.headers.get("ratelimit"), '"default";r=0;t=10');
        assert.equal(response.headers.get("retry-after"), "10");
      },
    );
    await t.step("a response with its own Retry-After keeps it", async () => {
      const { fetch } = limited({
        limit: 1,
        window: 10_000,
        onLimited: () =>
          new Response("come back later", {
            status: 503,
            headers: { "Retry-After": "120" },
          }),
      });
      await (await get(fetch)).body?.cancel();
      const response = await get(fetch);
      assert.equal(response.status, 503);
      assert.equal(await response.text(), "come back later");
      assert.equal(response.headers.get("retry-after"), "120");
      assert.equal(response.headers.get("ratelimit"), '"default";r=0;t=10');
    });
  }),
);

Deno.test(
  "rateLimit() adds the fields to responses whose headers are immutable",
  bounded(5000, async () => {
    const fetch = rateLimit({ limit: 5, window: 60_000 })(
      () => globalThis.Response.redirect("http://x.test/elsewhere", 302),
    );
    const response = await get(fetch);
    assert.equal(response.status, 302);
    assert.equal(response.headers.get("location"), "http://x.test/elsewhere");
    assert.equal(response.headers.get("ratelimit"), '"default";r=4;t=60');
  }),
);

Deno.test(
  "rateLimit() works as a handler in a route and as a fetch handler",
  bounded(5000, async () => {
    const limit = rateLimit({ limit: 1, window: 60_000 });
    const inner = toHandler(() => new Response("inner"));
    const app = new DispatcherApp();
    app.match("/limited", "GET", limit(inner));
    const viaRoute = await app.fetch(
      new Request("http://x.test/limited"),
      CLIENT,
    );
    assert.equal(await viaRoute.text(), "inner");
    assert.equal(viaRoute.headers.get("ratelimit"), '"default";r=0;t=60');
    assert.equal(
      (await app.fetch(new Request("http://x.test/limited"), CLIENT)).status,
      429,
    );
    // One rateLimit() counts every place it is used in together.
    const direct = limit({ fetch: () => new globalThis.Response("sync") });
    assert.equal(
      (await direct(new Request("http://x.test/"), CLIENT)).status,
      429,
    );
    const other = await direct(
      new Request("http://x.test/"),
      infoFrom("192.0.2.8"),
    );
    assert.equal(await other.text(), "sync");
  }),
);

Deno.test(
  "rateLimit() answers 503 when the store fails, and reports it",
  bounded(5000, async () => {
    const errors: unknown[] = [];
    const { fetch, seen } = limited({
      limit: 1,
      window: 60_000,
      store: { hit: () => Promise.reject(new Error("store down")) },
      onError: (error) => errors.push(error),
    });
    const lines: unknown[] = [];
    const log = console.error;
    console.error = (...args: unknown[]) => lines.push(args);
    try {
      for (let i = 0; i < 3; i++) {
        const response = await get(fetch);
        assert.equal(response.status, 503);
        assert.equal(response.headers.get("retry-after"), "5");
        await response.body?.cancel();
      }
    } finally {
      console.error = log;
    }
    assert.equal(seen.count, 0);
    assert.equal(errors.length, 3);
    assert.equal((errors[0] as Error).message, "store down");
    assert.equal(lines.length, 1, "one line for the outage");
  }),
);

Deno.test(
  "rateLimit() answers 503 when the store does not answer in time",
  bounded(5000, async () => {
    const { fetch, seen } = limited({
      limit: 1,
      window: 60_000,
      store: { hit: () => new Promise(() => {}) },
      timeout: 100,
      onError: () => {},
    });
    const log = console.error;
    console.error = () => {};
    try {
      const start = performance.now();
      const response = await get(fetch);
      assert.equal(response.status, 503);
      await response.body?.cancel();
      assert.ok(performance.now() - start < 2_000);
    } finally {
      console.error = log;
    }
    assert.equal(seen.count, 0);
  }),
);

Deno.test("rateLimit() rejects bad options at once", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    [
      "limit 0",
      { limit: 0, window: 1000 },
      /limit must be a positive integer, not 0/,
    ],
    [
      "limit -1",
      { limit: -1, window: 1000 },
      /limit must be a positive integer, not -1/,
    ],
    [
      "limit 1.5",
      { limit: 1.5, window: 1000 },
      /limit must be a positive integer, not 1.5/,
    ],
    [
      "limit NaN",
      { limit: NaN, window: 1000 },
      /limit must be a positive integer, not NaN/,
    ],
    [
      "limit Infinity",
      { limit: Infinity, window: 1000 },
      /limit must be a positive integer/,
    ],
    [
      'limit "10"',
      { limit: "10", window: 1000 },
      /limit must be a positive integer, not "10"/,
    ],
    [
      "no limit",
      { window: 1000 },
      /limit must be a positive integer, not undefined/,
    ],
    [
      "window 0",
      { limit: 1, window: 0 },
      /window must be a positive integer, not 0/,
    ],
    [
      "window 0.5",
      { limit: 1, window: 0.5 },
      /window must be a positive integer, not 0.5/,
    ],
    [
      "no window",
      { limit: 1 },
      /window must be a positive integer, not undefined/,
    ],
    [
      "a name with a newline",
      { limit: 1, window: 1, name: "a\nb" },
      /name must be a string of printable ASCII, not "a\\nb"/,
    ],
    [
      "a name past ASCII",
      { limit: 1, window: 1, name: "caf\u00e9" },
      /name must be a string of printable ASCII/,
    ],
    [
      "a name that is a number",
      { limit: 1, window: 1, name: 7 },
      /name must be a string of printable ASCII, not 7/,
    ],
    [
      "a key that is a string",
      { limit: 1, window: 1, key: "ip" },
      /key must be a function, not string/,
    ],
    [
      "a store without hit",
      { limit: 1, window: 1, store: {} },
      /store must have a hit\(key, window\) method/,
    ],
    [
      "onLimited not a function",
      { limit: 1, window: 1, onLimited: 429 },
      /onLimited must be a function, not number/,
    ],
    ["no options", undefined, /expected options with limit and window/],
  ];
  for (const [what, options, message] of cases) {
    await t.step(what, () => {
      assert.throws(
        () => rateLimit(options as RateLimitOptions),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message.startsWith("Cannot limit rates: ") &&
          message.test(error.message),
      );
    });
  }
});

// ---------------------------------------------------------------------------
// 200 concurrent requests through the middleware, on every store

for (const { name, make, ignore } of STORES) {
  Deno.test({
    name:
      `rateLimit() over ${name} lets exactly limit of 200 concurrent requests through`,
    ignore,
    fn: bounded(20_000, async () => {
      const { store, cleanup } = await make();
      try {
        const limit = 37;
        const { fetch, seen } = limited({ limit, window: 60_000, store });
        const responses = await Promise.all(
          Array.from({ length: 200 }, () => get(fetch)),
        );
        const allowed = responses.filter((r) => r.status === 200);
        const refused = responses.filter((r) => r.status === 429);
        assert.equal(allowed.length, limit);
        assert.equal(refused.length, 200 - limit);
        assert.equal(seen.count, limit);
        // Each allowed answer was told a different number of requests left.
        const left = allowed.map((r) =>
          Number(/;r=(\d+);/.exec(r.headers.get("ratelimit")!)![1])
        ).sort((a, b) => a - b);
        assert.deepEqual(left, oneTo(limit).map((n) => n - 1));
        await Promise.all(responses.map((r) => r.body?.cancel()));
      } finally {
        await cleanup();
      }
    }),
  });
}

// ---------------------------------------------------------------------------
// Stores, one by one

Deno.test("MemoryRateLimitStore forgets ended windows and keeps at most maxKeys", async (t) => {
  let time = 1_000_000;
  const store = new MemoryRateLimitStore({ maxKeys: 3, now: () => time });
  await t.step("ended windows are forgotten on the next hit", async () => {
    await store.hit("a", 100);
    await store.hit("b", 100);
    await store.hit("c", 100);
    assert.equal(store.size, 3);
    time += 100;
    await store.hit("d", 100);
    assert.equal(store.size, 1);
  });
  await t.step("past maxKeys, the oldest window goes", async () => {
    await store.hit("e", 100);
    await store.hit("f", 100);
    await store.hit("d", 100); // "d" stays the oldest: its window goes on
    await store.hit("g", 100);
    assert.equal(store.size, 3);
    assert.equal((await store.hit("d", 100)).count, 1, "d was forgotten");
    assert.equal((await store.hit("g", 100)).count, 2);
  });
  await t.step(
    "a key whose window ended starts again at the new end",
    async () => {
      await store.close();
      await store.hit("x", 100);
      await store.hit("y", 100);
      time += 100;
      await store.hit("x", 100); // "x" and "y" ended: both forgotten, "x" anew
      assert.equal(store.size, 1);
      time += 50;
      await store.hit("z", 100);
      await store.hit("w", 100);
      await store.hit("v", 100); // full: "x" (the oldest) goes
      assert.equal((await store.hit("z", 100)).count, 2);
      assert.equal(store.size, 3);
    },
  );
  await t.step("a bad maxKeys is refused", () => {
    assert.throws(
      () => new MemoryRateLimitStore({ maxKeys: 0 }),
      /maxKeys must be a positive integer, not 0/,
    );
  });
});

Deno.test(
  "KvRateLimitStore writes expiring entries under its prefix",
  bounded(5000, async () => {
    const kv = await Deno.openKv(":memory:");
    try {
      let time = 5_000;
      const store = new KvRateLimitStore({ kv, prefix: "rl", now: () => time });
      assert.deepEqual(await store.hit("client", 1000), {
        count: 1,
        resetIn: 1000,
      });
      time = 5_400;
      assert.deepEqual(await store.hit("client", 1000), {
        count: 2,
        resetIn: 600,
      });
      assert.deepEqual((await kv.get(["rl", "client"])).value, {
        count: 2,
        resetAt: 6000,
      });
      // An entry KV has not dropped yet, but whose window ended, is not used.
      time = 6_000;
      assert.deepEqual(await store.hit("client", 1000), {
        count: 1,
        resetIn: 1000,
      });
      // A long key is stored as its hash.
      await store.hit("k".repeat(600), 1000);
      const keys: string[] = [];
      for await (const entry of kv.list({ prefix: ["rl"] })) {
        keys.push(String(entry.key[1]));
      }
      assert.equal(keys.length, 2);
      assert.ok(keys.includes("client"));
      assert.match(keys.find((k) => k !== "client")!, /^sha256:[0-9a-f]{64}$/);
    } finally {
      kv.close();
    }
  }),
);

Deno.test(
  "KvRateLimitStore opens a local file database by path",
  bounded(10_000, async () => {
    const dir = await Deno.makeTempDir({ prefix: "pesto-rate-limit-" });
    try {
      const first = new KvRateLimitStore({ path: `${dir}/limits.kv` });
      assert.equal((await first.hit("a", 60_000)).count, 1);
      await first.close();
      const second = new KvRateLimitStore({ path: `${dir}/limits.kv` });
      assert.equal((await second.hit("a", 60_000)).count, 2);
      await second.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }),
);

Deno.test({
  name:
    "RedisRateLimitStore sets the expiry with the first count, in Redis itself",
  ignore: !REDIS_URL,
  fn: bounded(10_000, async () => {
    const prefix = `pesto_test:${crypto.randomUUID()}:`;
    const store = new RedisRateLimitStore({ url: REDIS_URL, prefix });
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    try {
      await store.hit("x", 50_000);
      const ttl = await raw.pTTL(prefix + "x");
      assert.ok(ttl > 40_000 && ttl <= 50_000, String(ttl));
      assert.equal(await raw.get(prefix + "x"), "1");
      // A counter left without an expiry (by another writer) gets one.
      await raw.set(prefix + "y", "5");
      assert.equal((await store.hit("y", 30_000)).count, 6);
      const ttlY = await raw.pTTL(prefix + "y");
      assert.ok(ttlY > 20_000 && ttlY <= 30_000, String(ttlY));
    } finally {
      await raw.del([prefix + "x", prefix + "y"]);
      raw.destroy();
      await store.close();
    }
  }),
});

Deno.test({
  name: "RedisRateLimitStore fails fast when the server cannot be reached",
  fn: bounded(10_000, async () => {
    // Port 1 on loopback: nothing listens there.
    const store = new RedisRateLimitStore({
      url: "redis://127.0.0.1:1",
      connectTimeout: 1000,
    });
    await assert.rejects(() => store.hit("x", 1000));
    await store.close();
  }),
});

// ---------------------------------------------------------------------------
// Two app processes sharing one KV file, then one Redis server

interface ChildResult {
  allowed: number;
  refused: number;
  other: number[];
}

async function twoProcesses(
  env: Record<string, string>,
  limit: number,
  requestsEach: number,
): Promise<ChildResult[]> {
  const script = new URL("_rate_limit_child.ts", import.meta.url).pathname;
  const children = [0, 1].map(() =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        new URL("deno.json", ROOT).pathname,
        "--no-lock",
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-env",
        script,
      ],
      env: {
        ...env,
        LIMIT: String(limit),
        REQUESTS: String(requestsEach),
        BURST: "10",
        NO_COLOR: "1",
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn()
  );
  const outputs = children.map((child) =>
    child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  );
  const errors = children.map((child) =>
    new globalThis.Response(child.stderr).text()
  );
  try {
    // Both ready, then both go at once.
    const texts = ["", ""];
    const readLine = async (i: number) => {
      while (!texts[i].includes("\n")) {
        const { done, value } = await outputs[i].read();
        if (done) throw new Error(`child ${i} ended: ${await errors[i]}`);
        texts[i] += value;
      }
      const [line, ...rest] = texts[i].split("\n");
      texts[i] = rest.join("\n");
      return line;
    };
    assert.deepEqual(await Promise.all([readLine(0), readLine(1)]), [
      "ready",
      "ready",
    ]);
    const go = new TextEncoder().encode("go\n");
    await Promise.all(children.map(async (child) => {
      const writer = child.stdin.getWriter();
      await writer.write(go);
      await writer.close();
    }));
    const lines = await Promise.all([readLine(0), readLine(1)]);
    const statuses = await Promise.all(children.map((child) => child.status));
    statuses.forEach((status, i) =>
      assert.ok(status.success, `child ${i} failed`)
    );
    return lines.map((line) => JSON.parse(line));
  } finally {
    for (const child of children) {
      try {
        child.kill();
      } catch { /* already gone */ }
    }
    await Promise.all(children.map((child) => child.status));
    await Promise.all(outputs.map((output) => output.cancel().catch(() => {})));
    await Promise.all(errors);
  }
}

Deno.test(
  "rateLimit() over KvRateLimitStore: two processes sharing one KV file share one limit",
  bounded(60_000, async () => {
    const dir = await Deno.makeTempDir({ prefix: "pesto-rate-limit-" });
    try {
      const limit = 150;
      const results = await twoProcesses(
        { STORE: "kv", KV_PATH: `${dir}/limits.kv`, PREFIX: "two" },
        limit,
        200,
      );
      for (const result of results) assert.deepEqual(result.other, []);
      assert.equal(
        results[0].allowed + results[1].allowed,
        limit,
        `allowed: ${results[0].allowed} + ${results[1].allowed}`,
      );
      assert.equal(results[0].refused + results[1].refused, 400 - limit);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }),
);

Deno.test({
  name:
    "rateLimit() over RedisRateLimitStore: two processes sharing one Redis server share one limit",
  ignore: !REDIS_URL,
  fn: bounded(60_000, async () => {
    const prefix = `pesto_test:${crypto.randomUUID()}:`;
    try {
      const limit = 150;
      const results = await twoProcesses(
        { STORE: "redis", REDIS_URL: REDIS_URL!, PREFIX: prefix },
        limit,
        200,
      );
      for (const result of results) assert.deepEqual(result.other, []);
      assert.equal(
        results[0].allowed + results[1].allowed,
        limit,
        `allowed: ${results[0].allowed} + ${results[1].allowed}`,
      );
      assert.equal(results[0].refused + results[1].refused, 400 - limit);
    } finally {
      await dropRedisKeys(prefix);
    }
  }),
});
