// Flash messages: Session.flash() and Session.takeFlashes(), on each store.
import assert from "node:assert/strict";
import {
  compose,
  DispatcherApp,
  KvSessionStore,
  MemorySessionStore,
  RedisSessionStore,
  Response,
  Session,
  sessionMiddleware,
  type SessionRecord,
  type SessionStore,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";

const REDIS_URL = Deno.env.get("PESTO_REDIS_URL");
if (!REDIS_URL) {
  console.warn(
    "flash_test: Redis tests are IGNORED: PESTO_REDIS_URL is not set " +
      "(.ci/run starts redis-server on 127.0.0.1:6399 and sets it)",
  );
}

interface StoreFixture {
  store: SessionStore;
  cleanup: () => Promise<void>;
}

const STORES: {
  name: string;
  make: () => Promise<StoreFixture>;
  ignore?: boolean;
}[] = [
  {
    name: "MemorySessionStore",
    make: () => {
      const store = new MemorySessionStore();
      return Promise.resolve({ store, cleanup: () => store.close() });
    },
  },
  {
    name: "KvSessionStore",
    make: async () => {
      const kv = await Deno.openKv(":memory:");
      const store = new KvSessionStore({ kv, prefix: "flash" });
      return { store, cleanup: () => Promise.resolve(kv.close()) };
    },
  },
  {
    name: "RedisSessionStore",
    ignore: !REDIS_URL,
    make: () => {
      const prefix = `pesto_flash_test:${crypto.randomUUID()}:`;
      const store = new RedisSessionStore({ url: REDIS_URL, prefix });
      const ids = new Set<string>();
      // Remember what was written, to delete it afterwards.
      const tracking: SessionStore = {
        get: (id) => store.get(id),
        set: (id, record) => {
          ids.add(id);
          return store.set(id, record);
        },
        delete: (id) => store.delete(id),
      };
      return Promise.resolve({
        store: tracking,
        cleanup: async () => {
          for (const id of ids) await store.delete(id);
          await store.close();
        },
      });
    },
  },
];

/** A store that counts writes. */
class CountingStore implements SessionStore {
  sets = 0;
  constructor(readonly inner: SessionStore) {}
  get(id: string): Promise<SessionRecord | undefined> {
    return this.inner.get(id);
  }
  set(id: string, record: SessionRecord): Promise<void> {
    this.sets++;
    return this.inner.set(id, record);
  }
  delete(id: string): Promise<void> {
    return this.inner.delete(id);
  }
}

type Flashes = { message: string; category: string }[];

/** Notes-like app: actions flash and redirect, pages show the messages. */
function flashApp(store: SessionStore) {
  const app = new DispatcherApp();
  app.match("/save", "POST", async (request) => {
    await request.session.flash("Note saved");
    await request.session.flash("Title was shortened", "warning");
    return Response.redirect("/hop", 303);
  });
  // A page in between that neither shows nor touches the messages.
  app.match("/hop", "GET", () => Response.redirect("/", 302));
  app.match(
    "/other",
    "GET",
    (request) => Response.json({ user: request.session.get("user") ?? null }),
  );
  app.match(
    "/",
    "GET",
    async (request) => Response.json(await request.session.takeFlashes()),
  );
  app.match("/login", "POST", async (request) => {
    request.session.regenerate();
    request.session.set("user", "ada");
    await request.session.flash("Welcome");
    return Response.redirect("/", 303);
  });
  app.match("/logout", "POST", async (request) => {
    request.session.invalidate();
    await request.session.flash("Logged out", "info");
    return Response.redirect("/", 303);
  });
  app.match("/keys", "GET", async (request) => {
    const session = request.session;
    await session.flash("hidden");
    return Response.json({
      keys: session.keys(),
      size: session.size,
      has: session.has("pesto.flashes"),
      get: session.get("pesto.flashes") ?? null,
    });
  });
  const counting = new CountingStore(store);
  return {
    counting,
    client: new TestApp({
      fetch: compose(sessionMiddleware({ store: counting }))(app.fetch),
    }),
  };
}

function sessionId(setCookie: string | undefined): string | undefined {
  return setCookie?.split(";")[0].split("=")[1];
}

for (const { name, make, ignore } of STORES) {
  Deno.test({
    name:
      `Session.flash() keeps messages until read, across redirects, with ${name}`,
    ignore,
    async fn(t) {
      const { store, cleanup } = await make();
      try {
        const { client, counting } = flashApp(store);
        let id: string | undefined;

        await t.step(
          "a flash starts a session and sets its cookie",
          async () => {
            const saved = await client.post("/save");
            assert.equal(saved.status, 303);
            id = sessionId(saved.getHeader("set-cookie"));
            assert.match(id!, /^[0-9a-f]{64}$/);
            const record = await store.get(id!);
            assert.deepEqual(record!.data["pesto.flashes"], [
              { message: "Note saved", category: "message" },
              { message: "Title was shortened", category: "warning" },
            ]);
          },
        );

        await t.step("requests that do not read them keep them", async () => {
          assert.equal((await client.get("/hop")).status, 302);
          assert.deepEqual((await client.get("/other")).json(), {
            user: null,
          });
          assert.equal(
            ((await store.get(id!))!.data["pesto.flashes"] as unknown[])
              .length,
            2,
          );
        });

        await t.step("takeFlashes() gives them once, in order", async () => {
          assert.deepEqual((await client.get("/")).json<Flashes>(), [
            { message: "Note saved", category: "message" },
            { message: "Title was shortened", category: "warning" },
          ]);
          assert.equal(
            Object.hasOwn((await store.get(id!))!.data, "pesto.flashes"),
            false,
          );
          assert.deepEqual((await client.get("/")).json(), []);
        });

        await t.step("a page with nothing to show writes nothing", async () => {
          const before = counting.sets;
          for (let i = 0; i < 3; i++) await client.get("/");
          assert.equal(counting.sets, before);
        });

        await t.step("regenerate() on login keeps the messages", async () => {
          const login = await client.post("/login");
          const newId = sessionId(login.getHeader("set-cookie"));
          assert.notEqual(newId, id);
          assert.equal(await store.get(id!), undefined);
          id = newId;
          assert.deepEqual((await client.get("/")).json(), [
            { message: "Welcome", category: "message" },
          ]);
          assert.deepEqual((await client.get("/other")).json(), {
            user: "ada",
          });
        });

        await t.step(
          "a flash after invalidate() reaches the logged-out user",
          async () => {
            const logout = await client.post("/logout");
            const newId = sessionId(logout.getHeader("set-cookie"));
            assert.notEqual(newId, id);
            assert.equal(await store.get(id!), undefined);
            assert.deepEqual((await client.get("/")).json(), [
              { message: "Logged out", category: "info" },
            ]);
            assert.deepEqual((await client.get("/other")).json(), {
              user: null,
            });
          },
        );

        await t.step("get, has, keys and size do not show them", async () => {
          assert.deepEqual((await client.get("/keys")).json(), {
            keys: [],
            size: 0,
            has: false,
            get: null,
          });
          assert.deepEqual((await client.get("/")).json(), [
            { message: "hidden", category: "message" },
          ]);
        });

        await t.step("clients do not see each other's messages", async () => {
          const other = flashApp(store).client;
          await client.post("/save");
          assert.deepEqual((await other.get("/")).json(), []);
          assert.equal((await client.get("/")).json<Flashes>().length, 2);
        });
      } finally {
        await cleanup();
      }
    },
  });
}

Deno.test("Session.takeFlashes() reads a stored record leniently", async () => {
  const store = new MemorySessionStore();
  const { client } = flashApp(store);
  const saved = await client.post("/save");
  const id = sessionId(saved.getHeader("set-cookie"))!;
  const record = (await store.get(id))!;
  record.data["pesto.flashes"] = [
    { message: "kept", category: "message" },
    "text",
    null,
    [1],
    { message: 1, category: "x" },
    { message: "no category" },
  ];
  await store.set(id, record);
  assert.deepEqual((await client.get("/")).json(), [
    { message: "kept", category: "message" },
  ]);
  record.data["pesto.flashes"] = { message: "not a list", category: "x" };
  await store.set(id, record);
  assert.deepEqual((await client.get("/")).json(), []);
  assert.equal(
    Object.hasOwn((await store.get(id))!.data, "pesto.flashes"),
    false,
  );
});

Deno.test("Session.flash() and takeFlashes() on a session object", async (t) => {
  await t.step('the category defaults to "message"', async () => {
    const session = new Session();
    await session.flash("a");
    await session.flash("b", "error");
    await session.flash("c", "");
    assert.deepEqual(await session.takeFlashes(), [
      { message: "a", category: "message" },
      { message: "b", category: "error" },
      { message: "c", category: "" },
    ]);
    assert.deepEqual(await session.takeFlashes(), []);
  });

  await t.step("both are async", () => {
    const session = new Session();
    const flashed = session.flash("a");
    assert.ok(flashed instanceof Promise);
    const taken = session.takeFlashes();
    assert.ok(taken instanceof Promise);
    return Promise.all([flashed, taken]).then(() => {});
  });

  await t.step("flash() rejects what is not a string", async () => {
    const session = new Session();
    for (
      const [message, category] of [[1, "x"], [null, "x"], ["x", 2], [
        { m: 1 },
        undefined,
      ]]
    ) {
      await assert.rejects(
        () => session.flash(message as string, category as string),
        TypeError,
      );
    }
    assert.deepEqual(await session.takeFlashes(), []);
  });

  await t.step("the reserved key is refused and hidden", async () => {
    const session = new Session({ a: 1 });
    assert.throws(() => session.set("pesto.flashes", []), {
      name: "TypeError",
      message: /reserved for flash messages/,
    });
    assert.throws(() => new Session({ "pesto.flashes": [] }), TypeError);
    await session.flash("x");
    assert.deepEqual(session.keys(), ["a"]);
    assert.equal(session.size, 1);
    assert.equal(session.has("pesto.flashes"), false);
    assert.equal(session.get("pesto.flashes"), undefined);
    assert.equal(session.delete("pesto.flashes"), false);
    assert.deepEqual(await session.takeFlashes(), [
      { message: "x", category: "message" },
    ]);
  });

  await t.step("clear() and invalidate() drop pending messages", async () => {
    const session = new Session();
    await session.flash("x");
    session.clear();
    assert.deepEqual(await session.takeFlashes(), []);
    await session.flash("y");
    session.invalidate();
    assert.deepEqual(await session.takeFlashes(), []);
  });

  await t.step("regenerate() keeps them", async () => {
    const session = new Session();
    await session.flash("x");
    session.regenerate();
    assert.deepEqual(await session.takeFlashes(), [
      { message: "x", category: "message" },
    ]);
  });

  await t.step("messages are copies, not references", async () => {
    const session = new Session();
    await session.flash("x");
    const first = await session.takeFlashes();
    first.push({ message: "y", category: "z" });
    assert.deepEqual(await session.takeFlashes(), []);
  });
});
