/**
 * Rate limits: {@linkcode rateLimit} lets at most `limit` requests per
 * `window` ms through for each key (the client address by default) and
 * answers the others `429 Too Many Requests`.
 *
 * Three stores share one {@linkcode RateLimitStore} interface, as the
 * session stores do: {@linkcode MemoryRateLimitStore} (the default; bounded
 * counters in the process), {@linkcode KvRateLimitStore} (Deno KV: a local
 * file shared by the processes of one machine, or a remote KV database for
 * many) and {@linkcode RedisRateLimitStore} (a Redis server). The KV and
 * Redis stores count atomically (a versionstamp check-and-set in KV, one
 * Lua script doing `INCR` and `PEXPIRE` in Redis), so every process that
 * shares the database or the server shares one limit, and no more than
 * `limit` requests of a window get through however many arrive at once.
 *
 * The answers carry the fields of the IETF HTTPAPI working group's draft
 * "RateLimit header fields for HTTP", revision
 * `draft-ietf-httpapi-ratelimit-headers-11` (May 2026; its Structured Field
 * form, unchanged since revision 08): `RateLimit-Policy` names the policy,
 * its quota and its window in seconds (`"default";q=100;w=60`), and
 * `RateLimit` the quota left and the seconds until the window ends
 * (`"default";r=0;t=42`). Both go on every counted answer, allowed or
 * refused; a refused one also has `Retry-After`, equal to `t` (at least 1).
 * The older `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset`
 * fields of revisions 00 to 06 are not sent.
 *
 * Behind a reverse proxy, put {@linkcode useXForwarded} before `rateLimit()`
 * so that the key is the client's address rather than the proxy's. A
 * request without a key (no connection info, or a `key` function that
 * returns `undefined`) is not counted and passes.
 *
 * @example A limit on the login route, counted in Deno KV
 * ```ts
 * import { DispatcherApp, KvRateLimitStore, rateLimit, Response, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const store = new KvRateLimitStore({ path: ":memory:" });
 * const loginLimit = rateLimit({ name: "login", limit: 2, window: 60_000, store });
 * const app = new DispatcherApp();
 * app.match("/login", "POST", loginLimit(toHandler(() => new Response("welcome"))));
 * app.match("/", "GET", () => new Response("home"));
 *
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "198.51.100.7", port: 5000 },
 *   completed: Promise.resolve(),
 * };
 * const login = () => app.fetch(new Request("http://x.test/login", { method: "POST" }), info);
 * assert.equal((await login()).status, 200);
 * assert.equal((await login()).headers.get("ratelimit"), '"login";r=0;t=60');
 * const refused = await login();
 * assert.equal(refused.status, 429);
 * assert.equal(refused.headers.get("retry-after"), "60");
 * assert.equal(refused.headers.get("ratelimit-policy"), '"login";q=2;w=60');
 * assert.equal(await refused.text(), "Too Many Requests\n");
 * assert.equal((await app.fetch(new Request("http://x.test/"), info)).status, 200);
 * await store.close();
 * ```
 *
 * @module
 */
export {
  rateLimit,
  type RateLimitExceeded,
  type RateLimitOptions,
} from "./_rate_limit/middleware.ts";
export type { RateLimitHit, RateLimitStore } from "./_rate_limit/store.ts";
export {
  MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
} from "./_rate_limit/memory_store.ts";
export {
  KvRateLimitStore,
  type KvRateLimitStoreOptions,
} from "./_rate_limit/kv_store.ts";
export {
  type RedisCommandClient,
  RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
} from "./_rate_limit/redis_store.ts";
