// One app process of the two-process rate limit tests (rate_limit_test.ts):
// a rateLimit() over a shared KV file or Redis server. It opens its store,
// prints "ready", waits for a line on stdin, then sends REQUESTS requests
// through the middleware, all from one client address, BURST at once at a
// time (so that the two processes' requests interleave for a while rather
// than one process sending all of its before the other starts), and prints
// how many were allowed and refused as JSON.
//
// Environment: STORE ("kv" or "redis"), KV_PATH or REDIS_URL, PREFIX (the
// store's key prefix), LIMIT, REQUESTS, BURST.
import {
  KvRateLimitStore,
  rateLimit,
  type RateLimitStore,
  RedisRateLimitStore,
  Response,
  toHandler,
} from "@pesto/pesto";

const env = (name: string): string => {
  const value = Deno.env.get(name);
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const prefix = env("PREFIX");
const store: RateLimitStore = env("STORE") === "kv"
  ? new KvRateLimitStore({ path: env("KV_PATH"), prefix })
  : new RedisRateLimitStore({ url: env("REDIS_URL"), prefix });
const fetch = rateLimit({
  limit: Number(env("LIMIT")),
  window: 60_000,
  store,
})(toHandler(() => new Response("ok")));
const requests = Number(env("REQUESTS"));
const burst = Number(env("BURST"));

// Open the database or connect now, so both processes start counting at once.
await store.hit("warm-up", 60_000);
console.log("ready");
const reader = Deno.stdin.readable.getReader();
await reader.read();
reader.releaseLock();

const info = {
  remoteAddr: { transport: "tcp" as const, hostname: "192.0.2.1", port: 1 },
  completed: Promise.resolve(),
};
const statuses: number[] = [];
for (let sent = 0; sent < requests; sent += burst) {
  const responses = await Promise.all(
    Array.from(
      { length: Math.min(burst, requests - sent) },
      () => fetch(new Request("http://x.test/"), info),
    ),
  );
  for (const response of responses) {
    statuses.push(response.status);
    await response.body?.cancel();
  }
}
await store.close?.();
console.log(JSON.stringify({
  allowed: statuses.filter((status) => status === 200).length,
  refused: statuses.filter((status) => status === 429).length,
  other: statuses.filter((status) => status !== 200 && status !== 429),
}));
