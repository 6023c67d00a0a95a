// What a rate limit store does: count a hit in the current window of a key.

/** What a {@linkcode RateLimitStore} answers to a hit. */
export interface RateLimitHit {
  /** The hits counted in the key's current window, this one included. */
  count: number;
  /** The milliseconds left until the key's current window ends. */
  resetIn: number;
}

/**
 * Where {@linkcode rateLimit} counts requests: a counter per key that lives
 * for one window. Pesto has three ({@linkcode MemoryRateLimitStore},
 * {@linkcode KvRateLimitStore}, {@linkcode RedisRateLimitStore}); any
 * object with a `hit` method will do.
 *
 * A store counts in fixed windows: the first hit of a key starts its window
 * of `window` ms, every hit until the window ends adds one, and the first
 * hit after it starts a new window at 1. `hit` must be atomic: of `n`
 * concurrent hits in one window, each must get a different count, 1 to `n`
 * (a read followed by a separate write loses hits under load, and then
 * more requests than the limit get through).
 *
 * @example A store over a `Map`, enough for one process
 * ```ts
 * import { type RateLimitHit, type RateLimitStore } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * class MapStore implements RateLimitStore {
 *   #windows = new Map<string, { count: number; resetAt: number }>();
 *   hit(key: string, window: number): Promise<RateLimitHit> {
 *     const now = Date.now();
 *     let current = this.#windows.get(key);
 *     if (!current || current.resetAt <= now) {
 *       current = { count: 0, resetAt: now + window };
 *       this.#windows.set(key, current);
 *     }
 *     current.count++;
 *     return Promise.resolve({ count: current.count, resetIn: current.resetAt - now });
 *   }
 * }
 * const store = new MapStore();
 * assert.equal((await store.hit("a", 1000)).count, 1);
 * assert.equal((await store.hit("a", 1000)).count, 2);
 * ```
 */
export interface RateLimitStore {
  /**
   * Counts one hit of `key`, atomically.
   *
   * @param key The key (the middleware gives the policy name, a colon and
   *   the request's key).
   * @param window The length of a window in ms, used when this hit starts
   *   one.
   * @returns The count in the current window, this hit included, and the
   *   time left in that window.
   */
  hit(key: string, window: number): Promise<RateLimitHit>;
  /** Releases what the store holds open (connections, files). */
  close?(): Promise<void>;
}
