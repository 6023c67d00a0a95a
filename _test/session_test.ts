import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compose,
  DispatcherApp,
  KvSessionStore,
  MemorySessionStore,
  mount,
  RedisSessionStore,
  Response,
  Session,
  sessionMiddleware,
  type SessionOptions,
  type SessionRecord,
  type SessionStore,
  toHandler,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import { createClient } from "@redis/client";

const REDIS_URL = Deno.env.get("PESTO_REDIS_URL");
if (!REDIS_URL) {
  console.warn(
    "session_test: Redis tests are IGNORED: PESTO_REDIS_URL is not set " +
      "(.ci/run starts redis-server on 127.0.0.1:6399 and sets it)",
  );
}

/** A fake clock: tests move time by hand. */
class Clock {
  time = 1_700_000_000_000;
  now = (): number => this.time;
}

interface StoreFixture {
  store: SessionStore;
  /** Writes raw bytes where the store would keep session `id`. */
  corrupt?: (id: string, text: string) => Promise<void>;
  cleanup: () => Promise<void>;
}

type StoreMaker = (clock: Clock) => Promise<StoreFixture>;

const STORES: { name: string; make: StoreMaker; ignore?: boolean }[] = [
  {
    name: "MemorySessionStore",
    make: (clock) => {
      const store = new MemorySessionStore({ now: clock.now });
      return Promise.resolve({ store, cleanup: () => store.close() });
    },
  },
  {
    name: "KvSessionStore",
    make: async (clock) => {
      const kv = await Deno.openKv(":memory:");
      const store = new KvSessionStore({ kv, prefix: "t", now: clock.now });
      return {
        store,
        corrupt: async (id, text) => {
          await kv.set(["t", id], text);
        },
        cleanup: () => Promise.resolve(kv.close()),
      };
    },
  },
  {
    name: "RedisSessionStore",
    ignore: !REDIS_URL,
    make: async (clock) => {
      const prefix = `pesto_test:${crypto.randomUUID()}:`;
      const store = new RedisSessionStore({
        url: REDIS_URL,
        prefix,
        now: clock.now,
      });
      const raw = createClient({ url: REDIS_URL });
      await raw.connect();
      return {
        store,
        corrupt: async (id, text) => {
          await raw.set(prefix + id, text);
        },
        cleanup: async () => {
          const keys = await raw.keys(prefix + "*");
          if (keys.length) await raw.del(keys);
          raw.destroy();
          await store.close();
        },
      };
    },
  },
];

function record(
  clock: Clock,
  data: SessionRecord["data"],
  ttl = 60_000,
): SessionRecord {
  return { data, createdAt: clock.time, expiresAt: clock.time + ttl };
}

// One suite, run against every store.
for (const { name, make, ignore } of STORES) {
  Deno.test({
    name: `${name} passes the shared SessionStore suite`,
    ignore,
    async fn(t) {
      const clock = new Clock();
      const { store, corrupt, cleanup } = await make(clock);
      try {
        await t.step("get() of an unknown id is undefined", async () => {
          assert.equal(await store.get("nope"), undefined);
        });
        await t.step("set() then get() round-trips JSON data", async () => {
          const data = {
            user: "ada",
            n: 3.5,
            ok: true,
            none: null,
            list: [1, "two", { three: [3] }],
            "clé €": "välue ✓",
          };
          await store.set("a", record(clock, data));
          assert.deepEqual(await store.get("a"), record(clock, data));
        });
        await t.step("get() returns a copy", async () => {
          const first = await store.get("a");
          first!.data.user = "mallory";
          (first!.data.list as unknown[]).push("x");
          assert.equal((await store.get("a"))!.data.user, "ada");
          assert.equal(
            ((await store.get("a"))!.data.list as unknown[]).length,
            3,
          );
        });
        await t.step("set() replaces a record", async () => {
          await store.set("a", record(clock, { v: 2 }));
          assert.deepEqual((await store.get("a"))!.data, { v: 2 });
        });
        await t.step(
          "delete() forgets a record; unknown ids are fine",
          async () => {
            await store.delete("a");
            assert.equal(await store.get("a"), undefined);
            await store.delete("never-there");
          },
        );
        await t.step("a record is gone once expiresAt is reached", async () => {
          await store.set("e", record(clock, { v: 1 }, 1000));
          clock.time += 999;
          assert.deepEqual((await store.get("e"))!.data, { v: 1 });
          clock.time += 1;
          assert.equal(await store.get("e"), undefined);
        });
        await t.step(
          "set() of an already expired record keeps nothing",
          async () => {
            await store.set("p", record(clock, { v: 1 }));
            await store.set("p", {
              data: { v: 2 },
              createdAt: 0,
              expiresAt: clock.time,
            });
            assert.equal(await store.get("p"), undefined);
          },
        );
        await t.step("set() rejects a malformed record", async () => {
          for (
            const bad of [
              { data: [], createdAt: 0, expiresAt: clock.time + 1 },
              { data: {}, createdAt: NaN, expiresAt: clock.time + 1 },
              { data: {} },
              null,
            ]
          ) {
            await assert.rejects(
              () => store.set("m", bad as unknown as SessionRecord),
              TypeError,
            );
          }
        });
        await t.step("sessions do not see each other", async () => {
          await Promise.all(
            Array.from(
              { length: 20 },
              (_, i) => store.set(`s${i}`, record(clock, { i })),
            ),
          );
          const read = await Promise.all(
            Array.from({ length: 20 }, (_, i) => store.get(`s${i}`)),
          );
          assert.deepEqual(read.map((r) => r!.data.i), [...Array(20).keys()]);
        });
        if (corrupt) {
          await t.step(
            "garbage in the backend reads as no session",
            async () => {
              for (
                const text of [
                  "not json",
                  "[1,2]",
                  '{"data":"x","createdAt":1,"expiresAt":1e15}',
                  '{"data":{},"createdAt":1}',
                ]
              ) {
                await corrupt("g", text);
                assert.equal(await store.get("g"), undefined, text);
              }
            },
          );
        }
      } finally {
        await cleanup();
      }
    },
  });
}

/** A store that counts its writes. */
class CountingStore implements SessionStore {
  sets = 0;
  deletes = 0;
  constructor(readonly inner: SessionStore) {}
  get(id: string) {
    return this.inner.get(id);
  }
  set(id: string, r: SessionRecord) {
    this.sets++;
    return this.inner.set(id, r);
  }
  delete(id: string) {
    this.deletes++;
    return this.inner.delete(id);
  }
}

/** A small app with login, logout, a counter and a cart. */
function sessionApp(options: SessionOptions = {}) {
  const app = new DispatcherApp();
  app.match("/read", "GET", (request) =>
    Response.json({
      user: request.session.get("user") ?? null,
      isNew: request.session.isNew,
      id: request.session.id,
    }));
  app.match("/login", "POST", async (request) => {
    request.session.regenerate();
    request.session.set("user", String(await request.get("user")));
    return new Response("in");
  });
  app.match("/logout", "POST", (request) => {
    request.session.invalidate();
    return new Response("out");
  });
  app.match("/count", "POST", (request) => {
    const n = (request.session.get<number>("n") ?? 0) + 1;
    request.session.set("n", n);
    return new Response(String(n));
  });
  app.match("/cart", "POST", async (request) => {
    const cart = request.session.get<string[]>("cart");
    const item = String(await request.get("item"));
    if (cart) cart.push(item); // changed in place: still saved
    else request.session.set("cart", [item]);
    return Response.json(request.session.get("cart"));
  });
  app.match("/bad", "POST", (request) => {
    request.session.set("f", () => 1);
    return new Response("unreachable");
  });
  return { app, fetch: compose(sessionMiddleware(options))(app.fetch) };
}

const ID = /^[0-9a-f]{64}$/;

function sessionCookie(header: string | undefined): string | undefined {
  return header?.split(";")[0].split("=")[1];
}

for (const { name, make, ignore } of STORES) {
  Deno.test({
    name: `sessionMiddleware() logs in and out with ${name}`,
    ignore,
    async fn() {
      const clock = new Clock();
      const { store, cleanup } = await make(clock);
      try {
        const { fetch } = sessionApp({ store, now: clock.now });
        const client = new TestApp({ fetch });
        const anonymous = await client.get("/read");
        assert.equal(anonymous.getHeader("set-cookie"), undefined);
        assert.equal(anonymous.json<{ isNew: boolean }>().isNew, true);

        const login = await client.post("/login", { form: { user: "ada" } });
        const id = sessionCookie(login.getHeader("set-cookie"));
        assert.match(id!, ID);
        assert.deepEqual((await store.get(id!))!.data, { user: "ada" });

        const me = (await client.get("/read")).json<Record<string, unknown>>();
        assert.deepEqual(me, { user: "ada", isNew: false, id });

        const logout = await client.post("/logout");
        assert.match(
          logout.getHeader("set-cookie")!,
          /^pesto_session=; Max-Age=0/,
        );
        assert.equal(await store.get(id!), undefined);
        assert.equal(
          (await client.get("/read")).json<{ user: unknown }>().user,
          null,
        );
      } finally {
        await cleanup();
      }
    },
  });
}

Deno.test("sessionMiddleware() saves a session only when it changed", async () => {
  const store = new CountingStore(new MemorySessionStore());
  const { fetch } = sessionApp({ store });
  const client = new TestApp({ fetch });
  await client.get("/read");
  assert.equal(store.sets, 0, "an untouched new session is not stored");
  assert.equal((await client.post("/count")).text, "1");
  assert.equal(store.sets, 1);
  await client.get("/read");
  await client.get("/read");
  assert.equal(store.sets, 1, "reading does not write");
  assert.equal((await client.post("/count")).text, "2");
  assert.equal(store.sets, 2);
});

Deno.test("sessionMiddleware() saves changes made inside a value got from the session", async () => {
  const { fetch } = sessionApp();
  const client = new TestApp({ fetch });
  await client.post("/cart", { form: { item: "apple" } });
  const r = await client.post("/cart", { form: { item: "pear" } });
  assert.deepEqual(r.json(), ["apple", "pear"]);
  assert.deepEqual(
    (await client.post("/cart", { form: { item: "fig" } })).json(),
    [
      "apple",
      "pear",
      "fig",
    ],
  );
});

Deno.test("sessionMiddleware() sets a safe cookie", async (t) => {
  const cases = [
    {
      name: "http: HttpOnly, SameSite=Lax, Path=/, not Secure",
      url: "http://x.test/count",
      expected: /^pesto_session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Lax$/,
    },
    {
      name: "https: Secure too",
      url: "https://x.test/count",
      expected:
        /^pesto_session=[0-9a-f]{64}; Path=\/; Secure; HttpOnly; SameSite=Lax$/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const { fetch } = sessionApp();
      const r = await fetch(new Request(c.url, { method: "POST" }));
      assert.match(r.headers.get("set-cookie")!, c.expected);
      assert.equal(r.headers.get("cache-control"), "private, no-cache");
    });
  }
  await t.step("mounted: Path is the script name", async () => {
    const { fetch } = sessionApp();
    const site = mount({ "/app": fetch });
    const r = await site(
      new Request("http://x.test/app/count", { method: "POST" }),
    );
    assert.match(r.headers.get("set-cookie")!, /; Path=\/app;/);
  });
  await t.step(
    "cookie options and cookieName override the defaults",
    async () => {
      const { fetch } = sessionApp({
        cookieName: "sid",
        cookie: { sameSite: "Strict", secure: true, path: "/" },
      });
      const r = await fetch(
        new Request("http://x.test/count", { method: "POST" }),
      );
      assert.match(
        r.headers.get("set-cookie")!,
        /^sid=[0-9a-f]{64}; Path=\/; Secure; HttpOnly; SameSite=Strict$/,
      );
    },
  );
});

Deno.test("sessionMiddleware() never adopts an id the client made up", async (t) => {
  const store = new MemorySessionStore();
  const { fetch } = sessionApp({ store });
  const cases = [
    "a".repeat(64), // well-formed but unknown
    "../../etc/passwd",
    "A".repeat(64), // upper case is not an id
    "a".repeat(63),
    "",
  ];
  for (const forged of cases) {
    await t.step(JSON.stringify(forged.slice(0, 20)), async () => {
      const r = await fetch(
        new Request("http://x.test/count", {
          method: "POST",
          headers: { cookie: `pesto_session=${forged}` },
        }),
      );
      assert.equal(await r.text(), "1");
      const id = sessionCookie(r.headers.get("set-cookie")!);
      assert.match(id!, ID);
      assert.notEqual(id, forged);
      assert.equal(await store.get(forged), undefined);
    });
  }
});

Deno.test("sessionMiddleware() makes random 256-bit ids", async () => {
  const { fetch } = sessionApp();
  const ids = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const r = await fetch(
      new Request("http://x.test/count", { method: "POST" }),
    );
    ids.add(sessionCookie(r.headers.get("set-cookie")!)!);
  }
  assert.equal(ids.size, 200);
  for (const id of ids) assert.match(id, ID);
});

Deno.test("sessionMiddleware() expires idle sessions, and refreshes active ones", async (t) => {
  const clock = new Clock();
  const store = new CountingStore(new MemorySessionStore({ now: clock.now }));
  const { fetch } = sessionApp({
    store,
    now: clock.now,
    idleTimeout: 10_000,
    absoluteTimeout: 100_000,
    touchInterval: 2_000,
  });
  const client = new TestApp({ fetch });
  await client.post("/count");
  const id = await client.cookie("pesto_session");

  await t.step("a read within touchInterval does not write", async () => {
    clock.time += 1_000;
    await client.get("/read");
    assert.equal(store.sets, 1);
  });
  await t.step(
    "a read after touchInterval pushes the idle expiry",
    async () => {
      clock.time += 2_000; // 3 s since the write
      await client.get("/read");
      assert.equal(store.sets, 2);
      clock.time += 9_000; // 12 s after creation, 9 s after the touch
      assert.equal((await client.get("/read")).json<{ id: string }>().id, id);
    },
  );
  await t.step(
    "after idleTimeout without requests the session is gone",
    async () => {
      clock.time += 10_000;
      const r = (await client.get("/read")).json<
        { id: string; isNew: boolean }
      >();
      assert.equal(r.isNew, true);
      assert.notEqual(r.id, id);
      assert.equal((await client.post("/count")).text, "1");
    },
  );
});

Deno.test("sessionMiddleware() expires sessions after absoluteTimeout, however active", async () => {
  const clock = new Clock();
  const { fetch } = sessionApp({
    now: clock.now,
    store: new MemorySessionStore({ now: clock.now }),
    idleTimeout: 10_000,
    absoluteTimeout: 30_000,
    touchInterval: 1_000,
  });
  const client = new TestApp({ fetch });
  const counts: string[] = [];
  for (let i = 0; i < 8; i++) {
    counts.push((await client.post("/count")).text);
    clock.time += 5_000;
  }
  // Created at 0; requests at 0, 5, …, 25 s count on; at 30 s it starts again.
  assert.deepEqual(counts, ["1", "2", "3", "4", "5", "6", "1", "2"]);
});

Deno.test("Session.regenerate() moves the data to a new id and drops the old one", async () => {
  const store = new MemorySessionStore();
  const { fetch } = sessionApp({ store });
  const client = new TestApp({ fetch });
  await client.post("/count");
  const before = (await client.cookie("pesto_session"))!;
  await client.post("/login", { form: { user: "ada" } });
  const after = (await client.cookie("pesto_session"))!;
  assert.notEqual(after, before);
  assert.equal(await store.get(before), undefined);
  assert.deepEqual((await store.get(after))!.data, { n: 1, user: "ada" });
  // The old id is worthless now.
  const stale = await fetch(
    new Request("http://x.test/read", {
      headers: { cookie: `pesto_session=${before}` },
    }),
  );
  assert.equal((await stale.json()).user, null);
});

Deno.test("Session.invalidate() then set() starts a fresh session", async () => {
  const store = new MemorySessionStore();
  const app = new DispatcherApp();
  app.match("/n", "POST", (request) => {
    request.session.set("n", 1);
    return new Response("ok");
  });
  app.match("/switch", "POST", (request) => {
    request.session.invalidate();
    request.session.set("guest", true);
    return new Response(String(request.session.isNew));
  });
  const client = new TestApp({
    fetch: compose(sessionMiddleware({ store }))(app.fetch),
  });
  await client.post("/n");
  const before = (await client.cookie("pesto_session"))!;
  assert.equal((await client.post("/switch")).text, "true");
  const after = (await client.cookie("pesto_session"))!;
  assert.notEqual(after, before);
  assert.equal(await store.get(before), undefined);
  assert.deepEqual((await store.get(after))!.data, { guest: true });
});

Deno.test("sessionMiddleware() keeps concurrent clients apart", async () => {
  const { fetch } = sessionApp();
  const clients = Array.from({ length: 10 }, () => new TestApp({ fetch }));
  await Promise.all(
    clients.map((c, i) => c.post("/login", { form: { user: `user${i}` } })),
  );
  const users = await Promise.all(
    clients.map(async (c) =>
      (await c.get("/read")).json<{ user: string }>().user
    ),
  );
  assert.deepEqual(users, clients.map((_, i) => `user${i}`));
});

Deno.test("sessionMiddleware() refuses non-JSON values with a 500", async () => {
  const { fetch } = sessionApp();
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    const r = await fetch(new Request("http://x.test/bad", { method: "POST" }));
    assert.equal(r.status, 500);
    assert.equal(r.headers.get("set-cookie"), null);
  } finally {
    console.error = original;
  }
  assert.equal(errors.length, 1);
});

Deno.test("sessionMiddleware() answers 503 when the store fails, and reports it", async (t) => {
  const failing = (on: "get" | "set"): SessionStore => ({
    get: () =>
      on === "get"
        ? Promise.reject(new Error("down"))
        : Promise.resolve(undefined),
    set: () =>
      on === "set" ? Promise.reject(new Error("down")) : Promise.resolve(),
    delete: () => Promise.resolve(),
  });
  for (const on of ["get", "set"] as const) {
    await t.step(`store.${on}() fails`, async () => {
      const errors: unknown[] = [];
      const { fetch } = sessionApp({
        store: failing(on),
        onError: (e) => errors.push(e),
      });
      const r = await fetch(
        new Request("http://x.test/count", {
          method: "POST",
          headers: { cookie: `pesto_session=${"b".repeat(64)}` },
        }),
      );
      assert.equal(r.status, 503);
      assert.equal(r.headers.get("retry-after"), "5");
      assert.doesNotMatch(await r.text(), /down/);
      assert.equal(errors.length, 1);
    });
  }
});

Deno.test("Request.session throws without sessionMiddleware()", async () => {
  const errors: unknown[] = [];
  const fetch = toHandler(
    (request) => new Response(String(request.session.id)),
    {
      onError: (e) => errors.push(e),
    },
  );
  const r = await fetch(new Request("http://x.test/"));
  assert.equal(r.status, 500);
  assert.ok(errors[0] instanceof TypeError);
  assert.match((errors[0] as Error).message, /sessionMiddleware/);
});

Deno.test("sessionMiddleware() rejects bad options at once", async (t) => {
  const cases: [string, SessionOptions][] = [
    ["a cookie name that is not a token", { cookieName: "a b" }],
    ["__Host- without secure", {
      cookieName: "__Host-s",
      cookie: { secure: false },
    }],
    ["a zero idleTimeout", { idleTimeout: 0 }],
    ["an infinite absoluteTimeout", { absoluteTimeout: Infinity }],
    ["a NaN idleTimeout", { idleTimeout: NaN }],
  ];
  for (const [name, options] of cases) {
    await t.step(name, () => {
      assert.throws(() => sessionMiddleware(options), TypeError);
    });
  }
});

Deno.test("Session keeps JSON data by key", async (t) => {
  await t.step("get/set/has/delete/clear/keys/size", () => {
    const s = new Session({ a: 1 });
    s.set("b", { c: [true, null] });
    assert.deepEqual(s.keys(), ["a", "b"]);
    assert.equal(s.size, 2);
    assert.ok(s.has("b"));
    assert.deepEqual(s.get("b"), { c: [true, null] });
    assert.equal(s.delete("a"), true);
    assert.equal(s.has("a"), false);
    s.clear();
    assert.equal(s.size, 0);
  });
  await t.step("set() keeps a JSON copy", () => {
    const s = new Session();
    const value = { list: [1] };
    s.set("v", value);
    value.list.push(2);
    assert.deepEqual(s.get("v"), { list: [1] });
    s.set("d", new Date(86_400_000));
    assert.equal(s.get("d"), "1970-01-02T00:00:00.000Z");
  });
  await t.step("set() refuses what JSON cannot write", () => {
    const s = new Session();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [undefined, () => 1, Symbol("s"), 1n, cyclic]) {
      assert.throws(() => s.set("x", bad), TypeError);
    }
    assert.equal(s.size, 0);
  });
  await t.step("keys like __proto__ are plain keys", () => {
    const s = new Session();
    s.set("__proto__", { polluted: true });
    assert.deepEqual(s.get("__proto__"), { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(s.get("toString"), undefined);
    assert.equal(s.has("constructor"), false);
  });
});

Deno.test("MemorySessionStore drops the least recently used session when full", async () => {
  const clock = new Clock();
  const store = new MemorySessionStore({ maxSessions: 3, now: clock.now });
  for (const id of ["a", "b", "c"]) await store.set(id, record(clock, { id }));
  await store.get("a");
  await store.set("d", record(clock, { id: "d" }));
  assert.equal(store.size, 3);
  assert.equal(await store.get("b"), undefined);
  for (const id of ["a", "c", "d"]) assert.ok(await store.get(id), id);
  assert.throws(() => new MemorySessionStore({ maxSessions: 0 }), TypeError);
});

Deno.test("MemorySessionStore keeps the order of use through any sequence of reads, writes, deletes and expiries", () => {
  type Op =
    | { kind: "get"; id: number }
    | { kind: "delete"; id: number }
    | { kind: "set"; id: number; ttl: number }
    | { kind: "tick"; ms: number };
  const id = fc.integer({ min: 0, max: 7 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("get" as const), id }),
    fc.record({ kind: fc.constant("delete" as const), id }),
    fc.record({
      kind: fc.constant("set" as const),
      id,
      ttl: fc.integer({ min: -5, max: 50 }),
    }),
    fc.record({ kind: fc.constant("tick" as const), ms: fc.nat(20) }),
  );
  return fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.array(op, { minLength: 50, maxLength: 300 }),
      async (max, ops) => {
        const clock = new Clock();
        const store = new MemorySessionStore({
          maxSessions: max,
          now: clock.now,
        });
        // The reference: ids from least to most recently used.
        const model: { id: string; n: number; expiresAt: number }[] = [];
        const at = (key: string) => model.findIndex((e) => e.id === key);
        for (const [n, step] of ops.entries()) {
          if (step.kind === "tick") {
            clock.time += step.ms;
            continue;
          }
          const key = `s${step.id}`;
          const i = at(key);
          if (step.kind === "get") {
            const got = await store.get(key);
            const entry = model[i];
            if (entry === undefined || entry.expiresAt <= clock.time) {
              assert.equal(got, undefined);
              if (entry) model.splice(i, 1);
            } else {
              assert.deepEqual(got?.data, { n: entry.n });
              model.push(...model.splice(i, 1));
            }
          } else if (step.kind === "delete") {
            await store.delete(key);
            if (i !== -1) model.splice(i, 1);
          } else {
            await store.set(key, record(clock, { n }, step.ttl));
            if (i !== -1) model.splice(i, 1);
            if (step.ttl > 0) {
              model.push({ id: key, n, expiresAt: clock.time + step.ttl });
              if (model.length > max) model.shift();
            }
          }
          assert.equal(store.size, model.length);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("KvSessionStore opens a local file database by path, and reopens it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/sessions.db`;
    const first = new KvSessionStore({ path });
    const r = {
      data: { user: "ada" },
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    };
    await first.set("id1", r);
    await first.close();
    const second = new KvSessionStore({ path });
    assert.deepEqual(await second.get("id1"), r);
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "RedisSessionStore fails fast when the server cannot be reached",
  async fn() {
    // Port 1 on loopback: nothing listens there.
    const store = new RedisSessionStore({
      url: "redis://127.0.0.1:1",
      connectTimeout: 1000,
    });
    await assert.rejects(() => store.get("x"));
    await store.close();
  },
});

Deno.test({
  name: "RedisSessionStore keys expire in Redis itself",
  ignore: !REDIS_URL,
  async fn() {
    const prefix = `pesto_test:${crypto.randomUUID()}:`;
    const store = new RedisSessionStore({ url: REDIS_URL, prefix });
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    try {
      await store.set("x", {
        data: {},
        createdAt: Date.now(),
        expiresAt: Date.now() + 50_000,
      });
      const ttl = await raw.pTTL(prefix + "x");
      assert.ok(ttl > 40_000 && ttl <= 50_000, String(ttl));
    } finally {
      await raw.del(prefix + "x");
      raw.destroy();
      await store.close();
    }
  },
});
