// The Deno KV session store.
import { KvDatabase } from "./kv_database.ts";
import { whileBusy } from "./kv_busy.ts";
import { timeoutOption, withTimeout } from "./timeout.ts";
import {
  parseRecord,
  recordText,
  type SessionRecord,
  type SessionStore,
} from "./session.ts";

/** Options of {@linkcode KvSessionStore}. */
export interface KvSessionStoreOptions {
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
   * @default {"pesto_session"}
   */
  prefix?: string;
  /**
   * The clock, in ms since the epoch.
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * Milliseconds each operation may take (opening included) before it fails
   * with `Deno.errors.TimedOut`: a database that does not answer is an
   * outage (see `sessionMiddleware`), never a hang. A database that failed
   * to open is opened again by the next operation.
   * @default {3000}
   */
  timeout?: number;
}

/**
 * Sessions in Deno KV: a local SQLite file by default, so one machine
 * needs no server, or a remote KV database shared by many machines. Each
 * session is one key (`[prefix, id]`) that KV expires by itself. A record
 * holds at most 64 KiB, KV's limit for a value.
 *
 * Deno KV is unstable: run with `--unstable-kv` (or `"unstable": ["kv"]`
 * in `deno.json`).
 *
 * @example
 * ```ts
 * import { KvSessionStore } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const store = new KvSessionStore({ path: ":memory:" });
 * await store.set("a", { data: { user: "ada" }, createdAt: Date.now(), expiresAt: Date.now() + 60_000 });
 * assert.deepEqual((await store.get("a"))?.data, { user: "ada" });
 * await store.close();
 * ```
 */
export class KvSessionStore implements SessionStore {
  #database: KvDatabase;
  #prefix: string;
  #now: () => number;
  #timeout: number;

  /**
   * Creates a store; the database is opened on first use.
   *
   * @param options The database (`kv` or `path`), the key prefix and the
   *   clock.
   *
   * @example
   * ```ts
   * import { KvSessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const kv = await Deno.openKv(":memory:");
   * const store = new KvSessionStore({ kv, prefix: "sessions" });
   * assert.equal(await store.get("nope"), undefined);
   * kv.close();
   * ```
   */
  constructor(options: KvSessionStoreOptions = {}) {
    this.#prefix = options.prefix ?? "pesto_session";
    this.#now = options.now ?? Date.now;
    this.#timeout = timeoutOption(options.timeout, "KV session store");
    this.#database = new KvDatabase(options.kv, options.path);
  }

  /**
   * Reads a session.
   *
   * @param id The session id.
   * @returns The record, or `undefined`.
   *
   * @example
   * ```ts
   * import { KvSessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new KvSessionStore({ path: ":memory:" });
   * assert.equal(await store.get("nope"), undefined);
   * await store.close();
   * ```
   */
  async get(id: string): Promise<SessionRecord | undefined> {
    const entry = await this.#bounded((kv) => kv.get([this.#prefix, id]));
    const record = parseRecord(entry.value);
    return record && record.expiresAt > this.#now() ? record : undefined;
  }

  /**
   * Writes a session, with a KV expiry at `record.expiresAt`.
   *
   * @param id The session id.
   * @param record The record.
   * @throws {TypeError} When the record is malformed or over 64 KiB.
   *
   * @example
   * ```ts
   * import { KvSessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new KvSessionStore({ path: ":memory:" });
   * await store.set("a", { data: { n: 1 }, createdAt: 0, expiresAt: Date.now() + 1000 });
   * assert.deepEqual((await store.get("a"))?.data, { n: 1 });
   * await store.close();
   * ```
   */
  async set(id: string, record: SessionRecord): Promise<void> {
    const text = recordText(record);
    const ttl = record.expiresAt - this.#now();
    await this.#bounded(async (kv) => {
      if (ttl <= 0) await kv.delete([this.#prefix, id]);
      else await kv.set([this.#prefix, id], text, { expireIn: Math.ceil(ttl) });
    });
  }

  /**
   * Forgets a session.
   *
   * @param id The session id.
   *
   * @example
   * ```ts
   * import { KvSessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const store = new KvSessionStore({ path: ":memory:" });
   * await store.set("a", { data: {}, createdAt: 0, expiresAt: Date.now() + 1000 });
   * await store.delete("a");
   * assert.equal(await store.get("a"), undefined);
   * await store.close();
   * ```
   */
  async delete(id: string): Promise<void> {
    await this.#bounded((kv) => kv.delete([this.#prefix, id]));
  }

  /** One operation on the database, opening it first, within the timeout. */
  #bounded<T>(operation: (kv: Deno.Kv) => Promise<T>): Promise<T> {
    const done = this.#database.open().then((kv) =>
      whileBusy(() => operation(kv))
    );
    return withTimeout(done, this.#timeout, "The KV session store");
  }

  /**
   * Closes the database, when the store opened it.
   *
   * @example
   * ```ts
   * import { KvSessionStore } from "@pesto/pesto";
   *
   * const store = new KvSessionStore({ path: ":memory:" });
   * await store.get("a");
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#database.close();
  }
}
