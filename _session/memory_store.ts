// The default session store: a bounded LRU map in the process.
import {
  parseRecord,
  recordText,
  type SessionRecord,
  type SessionStore,
} from "./session.ts";

/** Options of {@linkcode MemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /**
   * The most sessions kept; past it the least recently used is dropped.
   * @default {10000}
   */
  maxSessions?: number;
  /**
   * The clock, in ms since the epoch.
   * @default {Date.now}
   */
  now?: () => number;
}

/**
 * Sessions in the memory of this process: a map bounded by `maxSessions`
 * that forgets the least recently used session first (Pesto's
 * `MemorySessionManager`). Sessions are lost on restart and not shared
 * between processes; use {@linkcode KvSessionStore} or
 * {@linkcode RedisSessionStore} for that.
 *
 * @example
 * ```ts
 * import { MemorySessionStore } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const store = new MemorySessionStore({ maxSessions: 2 });
 * const record = { data: { a: 1 }, createdAt: Date.now(), expiresAt: Date.now() + 60_000 };
 * await store.set("one", record);
 * await store.set("two", record);
 * await store.get("one"); // "one" is now the most recently used
 * await store.set("three", record);
 * assert.equal(await store.get("two"), undefined);
 * assert.deepEqual((await store.get("one"))?.data, { a: 1 });
 * ```
 */
export class MemorySessionStore implements SessionStore {
  // Sessions by id, and in order of use in a linked list: a read moves its
  // session to the newest end without touching the map (a delete and a set
  // per read churned the map's table and grew RSS under load).
  #entries = new Map<string, StoredSession>();
  #oldest: StoredSession | undefined;
  #newest: StoredSession | undefined;
  #max: number;
  #now: () => number;

  /**
   * Creates an empty store.
   *
   * @param options `maxSessions` and the clock.
   * @throws {TypeError} When `maxSessions` is not a positive integer.
   *
   * @example
   * ```ts
   * import { MemorySessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new MemorySessionStore().size, 0);
   * ```
   */
  constructor(options: MemorySessionStoreOptions = {}) {
    this.#max = options.maxSessions ?? 10_000;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) {
      throw new TypeError(
        `Cannot create the store: maxSessions must be a positive integer, not ${this.#max}`,
      );
    }
    this.#now = options.now ?? Date.now;
  }

  /**
   * The number of sessions held (expired ones included until looked up).
   *
   * @returns The count.
   *
   * @example
   * ```ts
   * import { MemorySessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new MemorySessionStore();
   * await store.set("a", { data: {}, createdAt: 0, expiresAt: Date.now() + 1000 });
   * assert.equal(store.size, 1);
   * ```
   */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Reads a session, marking it as the most recently used.
   *
   * @param id The session id.
   * @returns A copy of the record, or `undefined`.
   *
   * @example
   * ```ts
   * import { MemorySessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(await new MemorySessionStore().get("nope"), undefined);
   * ```
   */
  get(id: string): Promise<SessionRecord | undefined> {
    const entry = this.#entries.get(id);
    if (entry === undefined) return Promise.resolve(undefined);
    if (entry.expiresAt <= this.#now()) {
      this.#remove(entry);
      return Promise.resolve(undefined);
    }
    this.#unlink(entry);
    this.#append(entry);
    return Promise.resolve(parseRecord(entry.text));
  }

  /**
   * Writes a session, dropping the least recently used one when full.
   *
   * @param id The session id.
   * @param record The record.
   * @throws {TypeError} When the record is malformed.
   *
   * @example
   * ```ts
   * import { MemorySessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new MemorySessionStore();
   * await store.set("a", { data: { n: 1 }, createdAt: 0, expiresAt: Date.now() + 1000 });
   * assert.deepEqual((await store.get("a"))?.data, { n: 1 });
   * ```
   */
  set(id: string, record: SessionRecord): Promise<void> {
    let text: string;
    try {
      text = recordText(record);
    } catch (error) {
      return Promise.reject(error);
    }
    const entry = this.#entries.get(id);
    if (record.expiresAt <= this.#now()) {
      if (entry !== undefined) this.#remove(entry);
    } else if (entry !== undefined) {
      entry.text = text;
      entry.expiresAt = record.expiresAt;
      this.#unlink(entry);
      this.#append(entry);
    } else {
      const added = new StoredSession(id, text, record.expiresAt);
      this.#entries.set(id, added);
      this.#append(added);
      while (this.#entries.size > this.#max) this.#remove(this.#oldest!);
    }
    return Promise.resolve();
  }

  /**
   * Forgets a session.
   *
   * @param id The session id.
   *
   * @example
   * ```ts
   * import { MemorySessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new MemorySessionStore();
   * await store.set("a", { data: {}, createdAt: 0, expiresAt: Date.now() + 1000 });
   * await store.delete("a");
   * assert.equal(await store.get("a"), undefined);
   * ```
   */
  delete(id: string): Promise<void> {
    const entry = this.#entries.get(id);
    if (entry !== undefined) this.#remove(entry);
    return Promise.resolve();
  }

  /**
   * Forgets every session.
   *
   * @example
   * ```ts
   * import { MemorySessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new MemorySessionStore();
   * await store.close();
   * assert.equal(store.size, 0);
   * ```
   */
  close(): Promise<void> {
    this.#entries.clear();
    this.#oldest = this.#newest = undefined;
    return Promise.resolve();
  }

  /** Forgets `entry`. */
  #remove(entry: StoredSession): void {
    this.#entries.delete(entry.id);
    this.#unlink(entry);
  }

  /** Takes `entry` out of the order of use. */
  #unlink(entry: StoredSession): void {
    if (entry.older === undefined) this.#oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.#newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = entry.newer = undefined;
  }

  /** Puts `entry` at the newest end of the order of use. */
  #append(entry: StoredSession): void {
    entry.older = this.#newest;
    if (this.#newest === undefined) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }
}

/** A session held by a `MemorySessionStore`, linked in order of use. */
class StoredSession {
  older: StoredSession | undefined = undefined;
  newer: StoredSession | undefined = undefined;

  constructor(
    readonly id: string,
    public text: string,
    public expiresAt: number,
  ) {}
}
