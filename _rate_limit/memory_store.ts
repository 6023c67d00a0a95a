// The default rate limit store: bounded counters in the process.
import type { RateLimitHit, RateLimitStore } from "./store.ts";

/** A key's current window. */
interface Counter {
  count: number;
  resetAt: number;
}

/** Options of {@linkcode MemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions {
  /**
   * The most keys counted at once; past it the key whose window started
   * first is forgotten (its count starts again from 0).
   * @default {10000}
   */
  maxKeys?: number;
  /**
   * The clock, in ms since the epoch.
   * @default {Date.now}
   */
  now?: () => number;
}

/**
 * Counts in the memory of this process: one counter per key, in a map
 * bounded by `maxKeys`. Counters are not shared between processes (use
 * {@linkcode KvRateLimitStore} or {@linkcode RedisRateLimitStore} for
 * that) and are lost on restart.
 *
 * There is no timer: each hit first forgets the windows that have ended,
 * oldest first, and a key whose window has ended starts a new one. The map
 * is kept in the order windows started, so with one window length (one
 * store per middleware) every ended window is forgotten on the next hit of
 * any key; when several window lengths share a store, an ended window may
 * wait behind a longer one that started before it, within `maxKeys`. When
 * the map is full, the key whose window started first is forgotten: a
 * client that can use more than `maxKeys` keys within one window (many
 * addresses, or a `key` it chooses) can start its own count again that
 * way, so keep `maxKeys` above the number of keys a window sees.
 *
 * @example
 * ```ts
 * import { MemoryRateLimitStore } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * let time = 0;
 * const store = new MemoryRateLimitStore({ now: () => time });
 * assert.deepEqual(await store.hit("a", 1000), { count: 1, resetIn: 1000 });
 * time = 400;
 * assert.deepEqual(await store.hit("a", 1000), { count: 2, resetIn: 600 });
 * time = 1000; // the window has ended
 * assert.deepEqual(await store.hit("a", 1000), { count: 1, resetIn: 1000 });
 * ```
 */
export class MemoryRateLimitStore implements RateLimitStore {
  // Counters by key, in the order their windows started: a key whose window
  // starts again is deleted and set anew, so it moves to the end.
  #windows = new Map<string, Counter>();
  #max: number;
  #now: () => number;

  /**
   * Creates an empty store.
   *
   * @param options `maxKeys` and the clock.
   * @throws {TypeError} When `maxKeys` is not a positive integer.
   *
   * @example
   * ```ts
   * import { MemoryRateLimitStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new MemoryRateLimitStore({ maxKeys: 100 }).size, 0);
   * ```
   */
  constructor(options: MemoryRateLimitStoreOptions = {}) {
    this.#max = options.maxKeys ?? 10_000;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) {
      throw new TypeError(
        `Cannot create the store: maxKeys must be a positive integer, not ${this.#max}`,
      );
    }
    this.#now = options.now ?? Date.now;
  }

  /**
   * The number of keys held (ended windows included until forgotten).
   *
   * @returns The count.
   *
   * @example
   * ```ts
   * import { MemoryRateLimitStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new MemoryRateLimitStore();
   * await store.hit("a", 1000);
   * await store.hit("b", 1000);
   * assert.equal(store.size, 2);
   * ```
   */
  get size(): number {
    return this.#windows.size;
  }

  /**
   * Counts one hit of `key`.
   *
   * @param key The key.
   * @param window The length of a window in ms, used when this hit starts
   *   one.
   * @returns The count in the current window, this hit included, and the
   *   time left in that window.
   *
   * @example
   * ```ts
   * import { MemoryRateLimitStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new MemoryRateLimitStore({ maxKeys: 2 });
   * await store.hit("a", 60_000);
   * await store.hit("b", 60_000);
   * await store.hit("c", 60_000); // full: "a", the oldest window, goes
   * assert.equal(store.size, 2);
   * assert.equal((await store.hit("a", 60_000)).count, 1);
   * ```
   */
  hit(key: string, window: number): Promise<RateLimitHit> {
    const now = this.#now();
    const windows = this.#windows;
    // Forget the ended windows at the old end.
    for (const [oldKey, old] of windows) {
      if (old.resetAt > now) break;
      windows.delete(oldKey);
    }
    let current = windows.get(key);
    if (current !== undefined && current.resetAt <= now) {
      windows.delete(key);
      current = undefined;
    }
    if (current === undefined) {
      if (windows.size >= this.#max) {
        windows.delete(windows.keys().next().value!);
      }
      current = { count: 0, resetAt: now + window };
      windows.set(key, current);
    }
    current.count++;
    return Promise.resolve({
      count: current.count,
      resetIn: current.resetAt - now,
    });
  }

  /**
   * Forgets every count.
   *
   * @example
   * ```ts
   * import { MemoryRateLimitStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new MemoryRateLimitStore();
   * await store.hit("a", 1000);
   * await store.close();
   * assert.equal(store.size, 0);
   * ```
   */
  close(): Promise<void> {
    this.#windows.clear();
    return Promise.resolve();
  }
}
