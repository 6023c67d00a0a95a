// A session store that goes away: requests that need the session answer
// 503 with Retry-After within a bounded time, the others are served as
// usual, the log gets one line when the outage starts and one when it ends,
// and service comes back by itself. Against a real redis-server stopped and
// started again, and a Deno KV database that cannot be opened.
import assert from "node:assert/strict";
import {
  DispatcherApp,
  KvSessionStore,
  RedisSessionStore,
  Response,
  sessionMiddleware,
  type SessionStore,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import { freePort, startRedisServer } from "./_process.ts";

function app(store: SessionStore): TestApp {
  const app = new DispatcherApp();
  app.match("/login", "POST", (request) => {
    request.session.set("user", "ada");
    return new Response("in");
  });
  app.match(
    "/me",
    "GET",
    (request) => new Response(String(request.session.get("user") ?? "nobody")),
  );
  app.match("/public", "GET", () => new Response("public"));
  return new TestApp(sessionMiddleware({ store })(app.fetch));
}

/** Console lines written while `fn` runs. */
async function capturing<T>(
  fn: (lines: string[]) => Promise<T>,
): Promise<T> {
  const lines: string[] = [];
  const { log, error } = console;
  const keep = (...args: unknown[]) =>
    lines.push(
      args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" "),
    );
  console.log = keep;
  console.error = keep;
  try {
    return await fn(lines);
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Retries `check` until it holds, for at most `ms`. */
async function eventually(
  check: () => Promise<boolean>,
  ms: number,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function hasRedis(): boolean {
  try {
    return new Deno.Command("redis-server", { args: ["--version"] })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* gone */ }
  await child.status;
}

Deno.test({
  name:
    "RedisSessionStore: a stopped server is a 503, then service comes back by itself",
  ignore: !hasRedis(),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const port = freePort();
  let redis = await startRedisServer(port);
  const store = new RedisSessionStore({
    url: `redis://127.0.0.1:${port}`,
    timeout: 500,
  });
  try {
    // The client library loads on first use, which may take longer than the
    // short timeout of this test on a loaded machine.
    await eventually(
      () => store.get("warm-up").then(() => true, () => false),
      10_000,
    );
    await capturing(async (lines) => {
      const client = app(store);
      assert.equal((await client.post("/login")).text, "in");
      assert.equal((await client.get("/me")).text, "ada");

      await stop(redis);
      const start = performance.now();
      const me = await client.get("/me");
      assert.equal(me.status, 503);
      assert.equal(me.getHeader("retry-after"), "5");
      assert.ok(
        performance.now() - start < 2_000,
        "answered within a bounded time",
      );
      // A request that does not read the session is served as usual.
      const open = await client.get("/public");
      assert.equal(open.status, 200);
      assert.equal(open.text, "public");
      for (let i = 0; i < 5; i++) {
        assert.equal((await client.get("/me")).status, 503);
      }
      assert.equal(
        lines.filter((l) => /does not answer/.test(l)).length,
        1,
        lines.join("\n"),
      );
      assert.ok(!lines.some((l) => /\n\s+at /.test(l)), "no stack in the log");

      redis = await startRedisServer(port);
      // The data went with the server (no persistence): logged out, but served.
      await eventually(
        async () => (await client.post("/login")).status === 200,
        10_000,
      );
      assert.equal((await client.get("/me")).text, "ada");
      assert.equal(
        lines.filter((l) => /answers again after/.test(l)).length,
        1,
        lines.join("\n"),
      );
      assert.equal(lines.filter((l) => /does not answer/.test(l)).length, 1);
      assert.ok(!lines.some((l) => /\n\s+at /.test(l)), "no stack in the log");
    });
  } finally {
    await store.close();
    await stop(redis);
  }
});

Deno.test("KvSessionStore: a database that cannot be opened is a 503 until it can", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pesto-kv-outage-" });
  // A directory where the database file should be: opening it fails.
  const path = `${dir}/sessions.db`;
  await Deno.mkdir(path);
  const store = new KvSessionStore({ path, timeout: 1_000 });
  try {
    await capturing(async (lines) => {
      const client = app(store);
      const login = await client.post("/login");
      assert.equal(login.status, 503);
      assert.equal(login.getHeader("retry-after"), "5");
      assert.equal((await client.get("/public")).status, 200);
      assert.equal((await client.post("/login")).status, 503);
      assert.equal(
        lines.filter((l) => /does not answer/.test(l)).length,
        1,
        lines.join("\n"),
      );

      await Deno.remove(path);
      assert.equal((await client.post("/login")).text, "in");
      assert.equal((await client.get("/me")).text, "ada");
      assert.equal(
        lines.filter((l) => /answers again after/.test(l)).length,
        1,
        lines.join("\n"),
      );
    });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a Redis server that never answers is a 503 after the store's timeout", async () => {
  const store = new RedisSessionStore({
    client: { sendCommand: () => new Promise(() => {}) },
    timeout: 200,
  });
  await capturing(async (lines) => {
    const client = app(store);
    const start = performance.now();
    const login = await client.post("/login");
    assert.equal(login.status, 503);
    const ms = performance.now() - start;
    assert.ok(ms >= 150 && ms < 2_000, `answered after ${ms.toFixed(0)} ms`);
    assert.match(lines.join("\n"), /did not answer in 200 ms/);
  });
  assert.throws(() => new RedisSessionStore({ timeout: 0 }), RangeError);
  assert.throws(() => new KvSessionStore({ timeout: -1 }), RangeError);
});
