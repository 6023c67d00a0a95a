// The Deno KV rate limit store.
import { KvDatabase } from "../_session/kv_database.ts";
import { isBusy, pause } from "../_session/kv_busy.ts";
import { hex } from "../_session/session.ts";
import type { RateLimitHit, RateLimitStore } from "./store.ts";

/** Options of {@linkcode KvRateLimitStore}. */
export interface KvRateLimitStoreOptions {
  /**
   * An open Deno KV database to use (the store then never closes it).
   */
  kv?: Deno.Kv;
  /**
   * What to open when no `kv` is given: a file path, `":memory:"`, or the
   * URL of a remote KV database (for many machines). Without it, Deno's
   * default local database for the script.
   */
  path?: string;
  /**
   * The first part of every key the store writes.
   * @default {"pesto_rate_limit"}
   */
  prefix?: string;
  /**
   * The clock, in ms since the epoch. Processes that share a database
   * should have clocks that agree.
   * @default {Date.now}
   */
  now?: () => number;
}

/** What the store keeps under a key. */
interface Counter {
  count: number;
  resetAt: number;
}

// How often a hit is tried again when another writer changed the key in
// between, before it fails.
const MAX_ATTEMPTS = 100;

// Keys longer than this (in UTF-16 code units) are replaced by their
// SHA-256, as KV refuses keys over 2 KiB.
const MAX_KEY = 512;

function isCounter(value: unknown): value is Counter {
  return typeof value === "object" && value !== null &&
    Number.isSafeInteger((value as Counter).count) &&
    typeof (value as Counter).resetAt === "number";
}

async function storedKey(key: string): Promise<string> {
  if (key.length <= MAX_KEY) return key;
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(key),
  );
  return "sha256:" + hex(new Uint8Array(digest));
}

/**
 * Counts in Deno KV: a local SQLite file shared by the processes of one
 * machine, or a remote KV database shared by many machines. Each key is
 * one KV entry (`[prefix, key]`) holding the count and the end of its
 * window, written with `expireIn` so KV drops it once the window has ended.
 *
 * A hit is a check-and-set: it reads the entry, then commits the new count
 * in an atomic operation that checks the entry's versionstamp, and tries
 * again (after a short random pause) when another process wrote the entry
 * in between, or when another process holds the file's write lock (Deno
 * KV answers "database is locked" then, rather than waiting); so every hit
 * gets its own count, across processes. Within one store, the hits of one
 * key wait for one another instead of racing. A key longer than 512
 * characters is stored as its SHA-256.
 *
 * Deno KV is unstable: run with `--unstable-kv` (or `"unstable": ["kv"]`
 * in `deno.json`).
 *
 * @example
 * ```ts
 * import { KvRateLimitStore } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const store = new KvRateLimitStore({ path: ":memory:" });
 * assert.equal((await store.hit("client", 60_000)).count, 1);
 * assert.equal((await store.hit("client", 60_000)).count, 2);
 * await store.close();
 * ```
 */
export class KvRateLimitStore implements RateLimitStore {
  #database: KvDatabase;
  #prefix: string;
  #now: () => number;
  // The last hit of each key in this store, so the next one waits for it.
  #queues = new Map<string, Promise<unknown>>();

  /**
   * Creates a store; the database is opened on first use.
   *
   * @param options The database (`kv` or `path`), the key prefix and the
   *   clock.
   *
   * @example
   * ```ts
   * import { KvRateLimitStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const kv = await Deno.openKv(":memory:");
   * const store = new KvRateLimitStore({ kv, prefix: "limits" });
   * await store.hit("client", 60_000);
   * assert.equal((await kv.get<{ count: number }>(["limits", "client"])).value?.count, 1);
   * kv.close();
   * ```
   */
  constructor(options: KvRateLimitStoreOptions = {}) {
    this.#prefix = options.prefix ?? "pesto_rate_limit";
    this.#now = options.now ?? Date.now;
    this.#database = new KvDatabase(options.kv, options.path);
  }

  /**
   * Counts one hit of `key`, atomically across every process that uses the
   * database.
   *
   * @param key The key.
   * @param window The length of a window in ms, used when this hit starts
   *   one.
   * @returns The count in the current window, this hit included, and the
   *   time left in that window.
   * @throws {Error} When other writers changed the key, or held the
   *   database's lock, 100 times in a row.
   *
   * @example
   * ```ts
   * import { KvRateLimitStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new KvRateLimitStore({ path: ":memory:" });
   * const hits = await Promise.all(
   *   Array.from({ length: 5 }, () => store.hit("client", 60_000)),
   * );
   * assert.deepEqual(hits.map((hit) => hit.count).sort(), [1, 2, 3, 4, 5]);
   * await store.close();
   * ```
   */
  hit(key: string, window: number): Promise<RateLimitHit> {
    const queues = this.#queues;
    const previous = queues.get(key);
    const run = previous === undefined
      ? this.#hit(key, window)
      : previous.then(() => this.#hit(key, window));
    const last = run.catch(() => {});
    queues.set(key, last);
    last.then(() => {
      if (queues.get(key) === last) queues.delete(key);
    });
    return run;
  }

  async #hit(key: string, window: number): Promise<RateLimitHit> {
    const kv = await this.#database.open();
    const kvKey = [this.#prefix, await storedKey(key)];
    for (let attempt = 1;; attempt++) {
      let result: Deno.KvCommitResult | Deno.KvCommitError;
      let now: number, counter: Counter;
      try {
        const entry = await kv.get(kvKey);
        now = this.#now();
        const old = entry.value;
        counter = isCounter(old) && old.resetAt > now
          ? { count: old.count + 1, resetAt: old.resetAt }
          : { count: 1, resetAt: now + window };
        result = await kv.atomic()
          .check(entry)
          .set(kvKey, counter, { expireIn: Math.ceil(counter.resetAt - now) })
          .commit();
      } catch (error) {
        // Another process holds the SQLite file's write lock: Deno KV
        // reports it rather than waiting.
        if (!isBusy(error) || attempt === MAX_ATTEMPTS) throw error;
        await pause(attempt);
        continue;
      }
      if (result.ok) {
        return { count: counter.count, resetIn: counter.resetAt - now };
      }
      if (attempt === MAX_ATTEMPTS) {
        throw new Error(
          `Cannot count a hit: other writers changed its key ${MAX_ATTEMPTS} times in a row`,
        );
      }
      await pause(attempt);
    }
  }

  /**
   * Closes the database, when the store opened it.
   *
   * @example
   * ```ts
   * import { KvRateLimitStore } from "@pesto/pesto";
   *
   * const store = new KvRateLimitStore({ path: ":memory:" });
   * await store.hit("client", 1000);
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#database.close();
  }
}
