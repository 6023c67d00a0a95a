// The Redis rate limit store.
import {
  type RedisCommandClient,
  RedisConnection,
} from "../_session/redis_connection.ts";
import type { RateLimitHit, RateLimitStore } from "./store.ts";

export type { RedisCommandClient };

/** Options of {@linkcode RedisRateLimitStore}. */
export interface RedisRateLimitStoreOptions {
  /**
   * A connected client to use (the store then never closes it).
   */
  client?: RedisCommandClient;
  /**
   * The server to connect to when no `client` is given
   * (`redis[s]://[[user][:password]@]host[:port][/db]`).
   * @default {"redis://127.0.0.1:6379"}
   */
  url?: string;
  /**
   * Put before every key to make the Redis key.
   * @default {"pesto_rate_limit:"}
   */
  prefix?: string;
  /**
   * Milliseconds to wait for a connection.
   * @default {5000}
   */
  connectTimeout?: number;
  /**
   * Called with connection errors of a client the store made (each lost
   * connection and reconnect attempt). By default nothing is logged here:
   * `rateLimit()` says when the store stops answering and when it answers
   * again.
   * @default {undefined}
   */
  onError?: (error: unknown) => void;
}

// One hit, atomic in Redis: add one, and give a key that has no expiry
// (the first hit of a window) the window's length; answer the count and
// the milliseconds left.
const HIT_SCRIPT = `local count = redis.call("INCR", KEYS[1])
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/**
 * Counts in Redis, for apps that run as many processes or on many
 * machines. Each key is one Redis integer (`prefix + key`). A hit runs one
 * Lua script: `INCR`, then `PEXPIRE` with the window's length when the key
 * has no expiry yet (the first hit of a window), then `PTTL`; Redis runs a
 * script whole, so concurrent hits from any number of processes each get
 * their own count, and the window's expiry is set with its first count
 * (never a counter that lives forever). Redis drops the key when its
 * window ends.
 *
 * The store connects through the `redis` npm client (`@redis/client`) on
 * first use, or uses the `client` it is given. When the server is
 * unreachable, hits fail at once rather than waiting.
 *
 * @example
 * ```ts ignore
 * import { rateLimit, RedisRateLimitStore } from "@pesto/pesto";
 *
 * const store = new RedisRateLimitStore({ url: "redis://127.0.0.1:6379" });
 * const limit = rateLimit({ limit: 100, window: 60_000, store });
 * ```
 */
export class RedisRateLimitStore implements RateLimitStore {
  #connection: RedisConnection;
  #prefix: string;

  /**
   * Creates a store; the connection is made on first use.
   *
   * @param options The server (`url` or `client`) and the key prefix.
   *
   * @example
   * ```ts
   * import { RedisRateLimitStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * // Any client with sendCommand will do; here, a tiny fake one.
   * const sent: string[][] = [];
   * const client = {
   *   sendCommand(args: string[]) {
   *     sent.push(args);
   *     return Promise.resolve([1, 60_000]);
   *   },
   * };
   * const store = new RedisRateLimitStore({ client, prefix: "rl:" });
   * assert.equal((await store.hit("client", 60_000)).count, 1);
   * assert.deepEqual(sent[0].slice(0, 1), ["EVAL"]);
   * assert.deepEqual(sent[0].slice(2), ["1", "rl:client", "60000"]);
   * ```
   */
  constructor(options: RedisRateLimitStoreOptions = {}) {
    this.#prefix = options.prefix ?? "pesto_rate_limit:";
    this.#connection = new RedisConnection(options.client, {
      url: options.url ?? "redis://127.0.0.1:6379",
      connectTimeout: options.connectTimeout ?? 5000,
      onError: options.onError ?? (() => {}),
    });
  }

  /**
   * Counts one hit of `key`, atomically in Redis.
   *
   * @param key The key.
   * @param window The length of a window in ms, used when this hit starts
   *   one.
   * @returns The count in the current window, this hit included, and the
   *   time left in that window (Redis's `PTTL`).
   * @throws {TypeError} When the server's answer is not two integers.
   *
   * @example
   * ```ts
   * import { RedisRateLimitStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * // A fake client that answers as the script would: count 3, 1.5 s left.
   * const client = { sendCommand: () => Promise.resolve([3, 1500]) };
   * const store = new RedisRateLimitStore({ client });
   * assert.deepEqual(await store.hit("client", 60_000), { count: 3, resetIn: 1500 });
   * ```
   */
  async hit(key: string, window: number): Promise<RateLimitHit> {
    const client = await this.#connection.client();
    const reply = await client.sendCommand([
      "EVAL",
      HIT_SCRIPT,
      "1",
      this.#prefix + key,
      String(window),
    ]);
    const [count, ttl] = Array.isArray(reply) ? reply.map(Number) : [];
    if (!Number.isSafeInteger(count) || !Number.isSafeInteger(ttl)) {
      throw new TypeError(
        `Cannot count a hit: Redis answered ${JSON.stringify(reply)}`,
      );
    }
    return { count, resetIn: ttl };
  }

  /**
   * Closes the connection, when the store made it (a given `client` is
   * left open).
   *
   * @example
   * ```ts
   * import { RedisRateLimitStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const client = { sendCommand: () => Promise.resolve([1, 1000]) };
   * const store = new RedisRateLimitStore({ client });
   * await store.close();
   * assert.equal((await store.hit("a", 1000)).count, 1); // still usable
   * ```
   */
  async close(): Promise<void> {
    await this.#connection.close();
  }
}
