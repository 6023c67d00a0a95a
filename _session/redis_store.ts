// The Redis session store.
import {
  type RedisCommandClient,
  RedisConnection,
} from "./redis_connection.ts";
import { timeoutOption, withTimeout } from "./timeout.ts";

export type { RedisCommandClient };
import {
  parseRecord,
  recordText,
  type SessionRecord,
  type SessionStore,
} from "./session.ts";

/** Options of {@linkcode RedisSessionStore}. */
export interface RedisSessionStoreOptions {
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
   * Put before every session id to make the Redis key.
   * @default {"pesto_session:"}
   */
  prefix?: string;
  /**
   * Milliseconds to wait for a connection.
   * @default {the timeout}
   */
  connectTimeout?: number;
  /**
   * Milliseconds each operation may take (connecting included) before it
   * fails with `Deno.errors.TimedOut`: a server that does not answer is an
   * outage (see `sessionMiddleware`), never a hang.
   * @default {3000}
   */
  timeout?: number;
  /**
   * Called with connection errors of a client the store made (each lost
   * connection and reconnect attempt). By default nothing is logged here:
   * `sessionMiddleware` says when the store stops answering and when it
   * answers again.
   * @default {undefined}
   */
  onError?: (error: unknown) => void;
  /**
   * The clock, in ms since the epoch.
   * @default {Date.now}
   */
  now?: () => number;
}

/**
 * Sessions in Redis, for apps that run on many machines. Each session is
 * one string key (`prefix + id`) written with `SET ... PX`, so Redis expires
 * it by itself. The store connects through the `redis` npm client
 * (`@redis/client`) on first use, or uses the `client` it is given. When
 * the server is unreachable, commands fail at once (the request gets a
 * 500) rather than waiting.
 *
 * @example
 * ```ts ignore
 * import { RedisSessionStore, sessionMiddleware } from "@pesto/pesto";
 *
 * const store = new RedisSessionStore({ url: "redis://127.0.0.1:6379" });
 * const sessions = sessionMiddleware({ store });
 * ```
 */
export class RedisSessionStore implements SessionStore {
  #connection: RedisConnection;
  #prefix: string;
  #now: () => number;
  #timeout: number;

  /**
   * Creates a store; the connection is made on first use.
   *
   * @param options The server (`url` or `client`), the key prefix, the
   *   clock.
   *
   * @example
   * ```ts
   * import { RedisSessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * // Any client with sendCommand will do; here, a tiny fake one.
   * const data = new Map<string, string>();
   * const client = {
   *   sendCommand([command, key, value]: string[]) {
   *     if (command === "SET") data.set(key, value);
   *     return Promise.resolve(command === "GET" ? data.get(key) ?? null : "OK");
   *   },
   * };
   * const store = new RedisSessionStore({ client, prefix: "s:" });
   * await store.set("a", { data: { n: 1 }, createdAt: 0, expiresAt: Date.now() + 1000 });
   * assert.ok(data.has("s:a"));
   * assert.deepEqual((await store.get("a"))?.data, { n: 1 });
   * ```
   */
  constructor(options: RedisSessionStoreOptions = {}) {
    this.#prefix = options.prefix ?? "pesto_session:";
    this.#now = options.now ?? Date.now;
    this.#timeout = timeoutOption(options.timeout, "Redis session store");
    this.#connection = new RedisConnection(options.client, {
      url: options.url ?? "redis://127.0.0.1:6379",
      connectTimeout: options.connectTimeout ?? this.#timeout,
      onError: options.onError ?? (() => {}),
    });
  }

  /**
   * Reads a session.
   *
   * @param id The session id.
   * @returns The record, or `undefined`.
   *
   * @example
   * ```ts
   * import { RedisSessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const data = new Map<string, string>();
   * const client = {
   *   sendCommand([command, key, value]: string[]) {
   *     if (command === "SET") data.set(key, value);
   *     if (command === "DEL") data.delete(key);
   *     return Promise.resolve(command === "GET" ? data.get(key) ?? null : "OK");
   *   },
   * };
   * const store = new RedisSessionStore({ client });
   * assert.equal(await store.get("nope"), undefined);
   * ```
   */
  async get(id: string): Promise<SessionRecord | undefined> {
    const text = await this.#send(["GET", this.#prefix + id]);
    const record = parseRecord(text);
    return record && record.expiresAt > this.#now() ? record : undefined;
  }

  /**
   * Writes a session, expiring in Redis at `record.expiresAt`.
   *
   * @param id The session id.
   * @param record The record.
   * @throws {TypeError} When the record is malformed.
   *
   * @example
   * ```ts
   * import { RedisSessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const data = new Map<string, string>();
   * const client = {
   *   sendCommand([command, key, value]: string[]) {
   *     if (command === "SET") data.set(key, value);
   *     if (command === "DEL") data.delete(key);
   *     return Promise.resolve(command === "GET" ? data.get(key) ?? null : "OK");
   *   },
   * };
   * const store = new RedisSessionStore({ client });
   * await store.set("a", { data: { n: 1 }, createdAt: 0, expiresAt: Date.now() + 1000 });
   * assert.ok(data.has("pesto_session:a"));
   * ```
   */
  async set(id: string, record: SessionRecord): Promise<void> {
    const text = recordText(record);
    const ttl = Math.ceil(record.expiresAt - this.#now());
    if (ttl <= 0) await this.#send(["DEL", this.#prefix + id]);
    else {
      await this.#send([
        "SET",
        this.#prefix + id,
        text,
        "PX",
        String(ttl),
      ]);
    }
  }

  /**
   * Forgets a session.
   *
   * @param id The session id.
   *
   * @example
   * ```ts
   * import { RedisSessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const data = new Map<string, string>();
   * const client = {
   *   sendCommand([command, key, value]: string[]) {
   *     if (command === "SET") data.set(key, value);
   *     if (command === "DEL") data.delete(key);
   *     return Promise.resolve(command === "GET" ? data.get(key) ?? null : "OK");
   *   },
   * };
   * const store = new RedisSessionStore({ client });
   * await store.set("a", { data: {}, createdAt: 0, expiresAt: Date.now() + 1000 });
   * await store.delete("a");
   * assert.equal(data.size, 0);
   * ```
   */
  async delete(id: string): Promise<void> {
    await this.#send(["DEL", this.#prefix + id]);
  }

  /** Sends one command, connecting first, within the timeout. */
  #send(args: string[]): Promise<unknown> {
    const sent = this.#connection.client().then((client) =>
      client.sendCommand(args)
    );
    return withTimeout(sent, this.#timeout, "The Redis session store");
  }

  /**
   * Closes the connection, when the store made it (a given `client` is
   * left open).
   *
   * @example
   * ```ts
   * import { RedisSessionStore } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const data = new Map<string, string>();
   * const client = {
   *   sendCommand([command, key, value]: string[]) {
   *     if (command === "SET") data.set(key, value);
   *     if (command === "DEL") data.delete(key);
   *     return Promise.resolve(command === "GET" ? data.get(key) ?? null : "OK");
   *   },
   * };
   * const store = new RedisSessionStore({ client });
   * await store.close();
   * assert.equal(await store.get("a"), undefined); // the client is still usable
   * ```
   */
  async close(): Promise<void> {
    await this.#connection.close();
  }
}
