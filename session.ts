/**
 * Sessions: {@linkcode sessionMiddleware} gives each request a
 * `request.session`, a small JSON key-value map kept on the server under a
 * random id that travels in a cookie.
 *
 * Three stores share one {@linkcode SessionStore} interface:
 * {@linkcode MemorySessionStore} (the default; a bounded LRU map in the
 * process), {@linkcode KvSessionStore} (Deno KV: a local file for one
 * machine, or a remote KV database for many) and
 * {@linkcode RedisSessionStore} (a Redis server, for apps that run on many
 * machines).
 *
 * Following Python's Pesto (`pesto.session`): ids are 64 lowercase hex
 * digits, read from the `pesto_session` cookie; an id the store does not
 * know is never adopted (the client gets a new one); the session is saved
 * only when it changed. Differences: ids come from `crypto.getRandomValues`
 * (256 bits) instead of a hash of the time; data is JSON, never pickled
 * code; changes are found by comparing the JSON form (so changing an object
 * got from the session counts, with no explicit `save()`); the session is
 * saved before the response is returned (not once it is sent); sessions
 * expire after an idle time and after an absolute lifetime, through the
 * store's own expiry (no purge thread); the cookie is `HttpOnly`,
 * `SameSite=Lax` and `Secure` on https; there is no query-string mode
 * (session ids never go in URLs); and `regenerate()` gives the session a
 * new id on login.
 *
 * @example Login with a session
 * ```ts
 * import { compose, DispatcherApp, Response, sessionMiddleware } from "@pesto/pesto";
 * import { TestApp } from "@pesto/pesto/testing";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/login", "POST", async (request) => {
 *   request.session.regenerate(); // a new id on login
 *   request.session.set("user", String(await request.get("user")));
 *   return new Response("welcome");
 * });
 * app.match("/me", "GET", (request) =>
 *   new Response(request.session.get<string>("user") ?? "nobody"));
 *
 * const client = new TestApp({ fetch: compose(sessionMiddleware())(app.fetch) });
 * assert.equal((await client.get("/me")).text, "nobody");
 * await client.post("/login", { form: { user: "ada" } });
 * assert.equal((await client.get("/me")).text, "ada");
 * ```
 *
 * @module
 */
import {
  Cookie,
  type CookieOptions,
  expireCookie,
  parseCookieHeader,
} from "./cookies.ts";
import { requestOverrides } from "./_context.ts";
import { encodePathText } from "./_path.ts";
import { sessionOf } from "./_session_state.ts";
import { withHeaders } from "./_compose.ts";
import { Response } from "./response.ts";
import type { Middleware } from "./middleware.ts";

/** A value that a session can hold: anything JSON can write. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** The data of a session: JSON values by key. */
export type SessionData = { [key: string]: JsonValue };

/** A session as a store keeps it. */
export interface SessionRecord {
  /** The session's values. */
  data: SessionData;
  /** When the session was created, in ms since the epoch. */
  createdAt: number;
  /**
   * When the record expires, in ms since the epoch: a store never returns
   * it from then on, and may forget it earlier (an LRU may evict it).
   */
  expiresAt: number;
}

/**
 * Where sessions are kept. A store returns copies (changing a returned
 * record changes nothing stored), never returns an expired record, and
 * forgets records once they expire.
 */
export interface SessionStore {
  /**
   * Reads a session.
   *
   * @param id The session id.
   * @returns The record, or `undefined` when unknown or expired.
   */
  get(id: string): Promise<SessionRecord | undefined>;
  /**
   * Writes a session (a record that has already expired is deleted).
   *
   * @param id The session id.
   * @param record The record to keep until `record.expiresAt`.
   */
  set(id: string, record: SessionRecord): Promise<void>;
  /**
   * Forgets a session; an unknown id is no error.
   *
   * @param id The session id.
   */
  delete(id: string): Promise<void>;
  /** Releases what the store holds open (connections, files). */
  close?(): Promise<void>;
}

const ID_PATTERN = /^[0-9a-f]{64}$/;

/** A new session id: 256 random bits as 64 lowercase hex digits. */
function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

const HEX = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

// What the middleware reads of a session, kept out of the public API.
interface SessionState {
  data: SessionData;
  loadedText: string;
  storedId: string | undefined;
  createdAt: number | undefined;
  expiresAt: number | undefined;
  rotated: boolean;
}
let stateOf: (session: Session) => SessionState;
let loadSession: (id: string, record: SessionRecord) => Session;

function emptyData(): SessionData {
  return Object.create(null);
}

/**
 * The session of a request (`request.session`): JSON values by key. Values
 * are stored as JSON, so `set` keeps a JSON copy and `get` gives back plain
 * data (a `Date` comes back as its ISO string). Any change is saved at the
 * end of the request, including changes made inside an object got with
 * `get`.
 *
 * @example
 * ```ts
 * import { Session } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const session = new Session();
 * assert.ok(session.isNew);
 * assert.match(session.id, /^[0-9a-f]{64}$/);
 * session.set("cart", ["apple"]);
 * session.get<string[]>("cart")!.push("pear");
 * assert.deepEqual(session.get("cart"), ["apple", "pear"]);
 * assert.throws(() => session.set("when", () => 1), TypeError);
 * ```
 */
export class Session {
  #id: string | undefined;
  #isNew: boolean;
  #state: SessionState;

  /**
   * A new, empty session with a fresh id (the middleware makes them; build
   * one yourself to test a handler directly).
   *
   * @param data The initial values (a JSON copy is kept).
   * @throws {TypeError} When a value cannot be written as JSON.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Session({ user: "ada" }).get("user"), "ada");
   * ```
   */
  constructor(data: SessionData = {}) {
    // The id is made when first asked for: a session nobody touches (a
    // request without a cookie) never needs one.
    this.#id = undefined;
    this.#isNew = true;
    this.#state = {
      data: emptyData(),
      loadedText: "{}",
      storedId: undefined,
      createdAt: undefined,
      expiresAt: undefined,
      rotated: false,
    };
    for (const [key, value] of Object.entries(data)) this.set(key, value);
  }

  static {
    stateOf = (session) => session.#state;
    loadSession = (id, record) => {
      const session = new Session();
      const data = emptyData();
      Object.assign(data, record.data);
      session.#id = id;
      session.#isNew = false;
      session.#state = {
        data,
        loadedText: JSON.stringify(data),
        storedId: id,
        createdAt: record.createdAt,
        expiresAt: record.expiresAt,
        rotated: false,
      };
      return session;
    };
  }

  /**
   * The session id (64 lowercase hex digits). It changes with
   * `regenerate()` and `invalidate()`.
   *
   * @returns The id.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Session().id.length, 64);
   * ```
   */
  get id(): string {
    return this.#id ??= newId();
  }

  /**
   * Whether the session was created during this request (the client sent
   * no known session id, or the session was invalidated).
   *
   * @returns `true` for a new session.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Session().isNew, true);
   * ```
   */
  get isNew(): boolean {
    return this.#isNew;
  }

  /**
   * The number of keys.
   *
   * @returns The count.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Session({ a: 1, b: 2 }).size, 2);
   * ```
   */
  get size(): number {
    return Object.keys(this.#state.data).length;
  }

  /**
   * One value.
   *
   * @typeParam T The type the caller expects (not checked).
   * @param key The key.
   * @returns The value, or `undefined` when absent.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const session = new Session({ visits: 3 });
   * assert.equal(session.get<number>("visits"), 3);
   * assert.equal(session.get("missing"), undefined);
   * ```
   */
  get<T = JsonValue>(key: string): T | undefined {
    const data = this.#state.data;
    return Object.hasOwn(data, key) ? data[key] as T : undefined;
  }

  /**
   * Sets a value, as a JSON copy.
   *
   * @param key The key.
   * @param value A value JSON can write (not `undefined`, a function, a
   *   symbol or a `BigInt`).
   * @throws {TypeError} When the value cannot be written as JSON.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const session = new Session();
   * session.set("at", new Date(0));
   * assert.equal(session.get("at"), "1970-01-01T00:00:00.000Z");
   * assert.throws(() => session.set("n", 1n), TypeError);
   * ```
   */
  set(key: string, value: unknown): void {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (cause) {
      throw new TypeError(
        `Cannot set session value "${key}": it cannot be written as JSON`,
        { cause },
      );
    }
    if (text === undefined) {
      throw new TypeError(
        `Cannot set session value "${key}": ${typeof value} is not JSON`,
      );
    }
    this.#state.data[key] = JSON.parse(text);
  }

  /**
   * Whether a key is set.
   *
   * @param key The key.
   * @returns `true` when present.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.ok(new Session({ a: null }).has("a"));
   * ```
   */
  has(key: string): boolean {
    return Object.hasOwn(this.#state.data, key);
  }

  /**
   * Removes a key.
   *
   * @param key The key.
   * @returns Whether it was present.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const session = new Session({ a: 1 });
   * assert.equal(session.delete("a"), true);
   * assert.equal(session.delete("a"), false);
   * ```
   */
  delete(key: string): boolean {
    if (!Object.hasOwn(this.#state.data, key)) return false;
    delete this.#state.data[key];
    return true;
  }

  /**
   * Removes every key (the session and its id stay).
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const session = new Session({ a: 1, b: 2 });
   * session.clear();
   * assert.equal(session.size, 0);
   * ```
   */
  clear(): void {
    this.#state.data = emptyData();
  }

  /**
   * The keys, in insertion order.
   *
   * @returns The keys.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new Session({ a: 1, b: 2 }).keys(), ["a", "b"]);
   * ```
   */
  keys(): string[] {
    return Object.keys(this.#state.data);
  }

  /**
   * Ends the session (logout): the stored session is deleted and the
   * cookie expired at the end of the request. The object goes on as a new,
   * empty session with a new id, saved only if something is set in it.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const session = new Session({ user: "ada" });
   * const before = session.id;
   * session.invalidate();
   * assert.equal(session.size, 0);
   * assert.notEqual(session.id, before);
   * assert.ok(session.isNew);
   * ```
   */
  invalidate(): void {
    this.#id = newId();
    this.#isNew = true;
    const state = this.#state;
    state.data = emptyData();
    state.loadedText = "{}";
    state.createdAt = undefined;
    state.expiresAt = undefined;
    state.rotated = false;
  }

  /**
   * Moves the session to a new id, keeping its data (call it on login, so
   * an id known before login is worthless after it). The old id is deleted
   * and the new one saved and sent at the end of the request.
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const session = new Session({ cart: ["apple"] });
   * const before = session.id;
   * session.regenerate();
   * assert.notEqual(session.id, before);
   * assert.deepEqual(session.get("cart"), ["apple"]);
   * ```
   */
  regenerate(): void {
    this.#id = newId();
    this.#state.rotated = true;
  }
}

/** Options of {@linkcode sessionMiddleware}. */
export interface SessionOptions {
  /**
   * Where sessions are kept.
   * @default {new MemorySessionStore()}
   */
  store?: SessionStore;
  /**
   * The name of the session cookie.
   * @default {"pesto_session"}
   */
  cookieName?: string;
  /**
   * Attributes of the session cookie, over the defaults: `Path` is the
   * script name the app is mounted under (else `/`), `HttpOnly`,
   * `SameSite=Lax`, and `Secure` when the request came over https. With no
   * `maxAge` or `expires` the cookie lasts until the browser closes.
   * @default {{ httpOnly: true, sameSite: "Lax" }}
   */
  cookie?: CookieOptions;
  /**
   * Milliseconds without a request after which a session expires.
   * @default {1800000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds after its creation at which a session expires, however
   * active it is.
   * @default {86400000}
   */
  absoluteTimeout?: number;
  /**
   * An unchanged session is written back to push its idle expiry forward
   * at most this often (in ms), so reading a session rarely writes.
   * @default {60000}
   */
  touchInterval?: number;
  /**
   * The clock, in ms since the epoch (replace it in tests).
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * Called when the store fails (the request is then answered 500).
   * @default {console.error}
   */
  onError?: (error: unknown) => void;
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new TypeError(
      `Cannot use sessions: ${name} must be a positive number of ms, not ${value}`,
    );
  }
  return value;
}

/**
 * The session middleware: loads the session named by the request's cookie
 * (or starts a new one) before the handler runs, so `request.session`
 * works in Pesto handlers, and saves it before the response goes out when
 * it changed, setting the cookie when the id is new.
 *
 * A client's id is used only when the store knows it and it has not
 * expired; anything else gets a new random id. A new session that nothing
 * was put in is neither stored nor sent. Two concurrent requests of one
 * session each save their own copy; the last one wins.
 *
 * @param options The store, the cookie, and the expiry times.
 * @returns A {@linkcode Middleware}.
 * @throws {TypeError} When the cookie name or attributes are invalid or a
 *   time is not a positive number.
 *
 * @example
 * ```ts
 * import { compose, MemorySessionStore, Response, sessionMiddleware, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const counter = toHandler((request) => {
 *   const visits = (request.session.get<number>("visits") ?? 0) + 1;
 *   request.session.set("visits", visits);
 *   return new Response(`visit ${visits}`);
 * });
 * const fetch = compose(sessionMiddleware({ store: new MemorySessionStore() }))(counter);
 *
 * const first = await fetch(new Request("https://example.com/"));
 * const cookie = first.headers.get("set-cookie")!;
 * assert.match(cookie, /^pesto_session=[0-9a-f]{64}; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
 * const second = await fetch(new Request("https://example.com/", {
 *   headers: { cookie: cookie.split(";")[0] },
 * }));
 * assert.equal(await second.text(), "visit 2");
 * ```
 */
export function sessionMiddleware(options: SessionOptions = {}): Middleware {
  const store = options.store ?? new MemorySessionStore();
  const cookieName = options.cookieName ?? "pesto_session";
  const idle = positive("idleTimeout", options.idleTimeout ?? 30 * 60_000);
  const absolute = positive(
    "absoluteTimeout",
    options.absoluteTimeout ?? 24 * 3600_000,
  );
  const touchInterval = options.touchInterval ?? 60_000;
  const now = options.now ?? Date.now;
  const onError = options.onError ??
    ((error: unknown) => console.error("Session store failed:", error));
  const cookieDefaults: CookieOptions = { httpOnly: true, sameSite: "Lax" };
  // Check the name and attributes now, not on the first request.
  new Cookie(cookieName, "x", { secure: true, path: "/", ...options.cookie });

  const cookieFor = (raw: globalThis.Request): CookieOptions => {
    const overrides = requestOverrides.get(raw);
    const url = overrides?.url ?? raw.url;
    const script = overrides?.scriptName;
    return {
      ...cookieDefaults,
      path: script ? encodePathText(script) : "/",
      secure: url.startsWith("https:"),
      ...options.cookie,
    };
  };

  return (next) => async (raw, info) => {
    const clientId = parseCookieHeader(raw.headers.get("cookie"))
      .getAll(cookieName).find((value) => ID_PATTERN.test(value));
    const start = now();
    let session: Session | undefined;
    if (clientId !== undefined) {
      let record: SessionRecord | undefined;
      try {
        record = await store.get(clientId);
      } catch (error) {
        onError(error);
        return Response.internalServerError();
      }
      if (
        record && record.expiresAt > start &&
        record.createdAt + absolute > start
      ) {
        session = loadSession(clientId, record);
      }
    }
    session ??= new Session();
    sessionOf.set(raw, session);
    const response = await next(raw, info);

    const state = stateOf(session);
    const time = now();
    const text = JSON.stringify(state.data);
    const changed = text !== state.loadedText || state.rotated;
    const dropped = state.storedId !== undefined &&
      state.storedId !== session.id;
    const createdAt = state.createdAt ?? time;
    const deadline = Math.min(time + idle, createdAt + absolute);
    let setCookie: string | undefined;
    try {
      if (dropped) await store.delete(state.storedId!);
      if (changed) {
        await store.set(session.id, {
          data: state.data,
          createdAt,
          expiresAt: deadline,
        });
        if (session.id !== clientId) {
          setCookie = new Cookie(cookieName, session.id, cookieFor(raw))
            .toString();
        }
      } else if (dropped) {
        setCookie = expireCookie(cookieName, cookieFor(raw)).toString();
      } else if (
        state.expiresAt !== undefined &&
        state.expiresAt - time < idle - touchInterval &&
        state.expiresAt < deadline
      ) {
        await store.set(session.id, {
          data: state.data,
          createdAt,
          expiresAt: deadline,
        });
      }
    } catch (error) {
      onError(error);
      response.body?.cancel().catch(() => {});
      return Response.internalServerError();
    }
    if (setCookie === undefined) return response;
    const value = setCookie;
    return withHeaders(response, (headers) => {
      headers.append("Set-Cookie", value);
      // A response that sets a session id must not be kept by shared caches.
      if (!headers.has("cache-control")) {
        headers.set("Cache-Control", "private, no-cache");
      }
    });
  };
}

function isRecord(value: unknown): value is SessionRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  const data = record.data;
  return typeof data === "object" && data !== null && !Array.isArray(data) &&
    Number.isFinite(record.createdAt) && Number.isFinite(record.expiresAt);
}

/** Parses a record kept as JSON text; `undefined` when it is not one. */
function parseRecord(text: unknown): SessionRecord | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const value = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function recordText(record: SessionRecord): string {
  if (!isRecord(record)) {
    throw new TypeError(
      "Cannot store the session: a record needs data, createdAt and expiresAt",
    );
  }
  return JSON.stringify({
    data: record.data,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
  });
}

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
  #kv?: Promise<Deno.Kv>;
  #options: KvSessionStoreOptions;
  #prefix: string;
  #now: () => number;

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
    this.#options = options;
    this.#prefix = options.prefix ?? "pesto_session";
    this.#now = options.now ?? Date.now;
    if (options.kv) this.#kv = Promise.resolve(options.kv);
  }

  #open(): Promise<Deno.Kv> {
    if (this.#kv) return this.#kv;
    if (typeof Deno.openKv !== "function") {
      return Promise.reject(
        new TypeError(
          'Cannot open Deno KV: it is unstable; run with --unstable-kv or add "unstable": ["kv"] to deno.json',
        ),
      );
    }
    const opened = Deno.openKv(this.#options.path);
    this.#kv = opened;
    opened.catch(() => {
      if (this.#kv === opened) this.#kv = undefined;
    });
    return opened;
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
    const kv = await this.#open();
    const entry = await kv.get([this.#prefix, id]);
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
    const kv = await this.#open();
    const ttl = record.expiresAt - this.#now();
    if (ttl <= 0) await kv.delete([this.#prefix, id]);
    else await kv.set([this.#prefix, id], text, { expireIn: Math.ceil(ttl) });
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
    const kv = await this.#open();
    await kv.delete([this.#prefix, id]);
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
    const opened = this.#kv;
    this.#kv = undefined;
    if (opened && !this.#options.kv) (await opened).close();
  }
}

/**
 * What {@linkcode RedisSessionStore} needs of a Redis client: sending one
 * command. A client of the `redis` npm package (`@redis/client`) has it.
 */
export interface RedisCommandClient {
  /**
   * Sends a command.
   *
   * @param args The command and its arguments, as strings.
   * @returns The reply.
   */
  sendCommand(args: string[]): Promise<unknown>;
}

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
   * @default {5000}
   */
  connectTimeout?: number;
  /**
   * Called with connection errors of a client the store made.
   * @default {console.error}
   */
  onError?: (error: unknown) => void;
  /**
   * The clock, in ms since the epoch.
   * @default {Date.now}
   */
  now?: () => number;
}

interface OwnedClient extends RedisCommandClient {
  close(): Promise<void>;
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
  #client?: Promise<RedisCommandClient>;
  #options: RedisSessionStoreOptions;
  #prefix: string;
  #now: () => number;

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
    this.#options = options;
    this.#prefix = options.prefix ?? "pesto_session:";
    this.#now = options.now ?? Date.now;
    if (options.client) this.#client = Promise.resolve(options.client);
  }

  #connect(): Promise<RedisCommandClient> {
    if (this.#client) return this.#client;
    const connecting = this.#makeClient();
    this.#client = connecting;
    connecting.catch(() => {
      if (this.#client === connecting) this.#client = undefined;
    });
    return connecting;
  }

  async #makeClient(): Promise<OwnedClient> {
    const { createClient } = await import("@redis/client");
    const onError = this.#options.onError ??
      ((error: unknown) => console.error("Redis session store:", error));
    // The first connection fails at once; a lost one is retried, backing off.
    let connected = false;
    const client = createClient({
      url: this.#options.url ?? "redis://127.0.0.1:6379",
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.#options.connectTimeout ?? 5000,
        reconnectStrategy: (retries: number, cause: Error) =>
          connected ? Math.min(50 * 2 ** retries, 2000) : cause,
      },
    });
    client.on("error", (error: unknown) => {
      if (connected) onError(error);
    });
    try {
      await client.connect();
      connected = true;
    } catch (error) {
      if (client.isOpen) client.destroy();
      throw error;
    }
    return client as unknown as OwnedClient;
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
    const client = await this.#connect();
    const text = await client.sendCommand(["GET", this.#prefix + id]);
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
    const client = await this.#connect();
    const ttl = Math.ceil(record.expiresAt - this.#now());
    if (ttl <= 0) await client.sendCommand(["DEL", this.#prefix + id]);
    else {
      await client.sendCommand([
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
    const client = await this.#connect();
    await client.sendCommand(["DEL", this.#prefix + id]);
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
    if (this.#options.client) return;
    const connecting = this.#client;
    this.#client = undefined;
    if (!connecting) return;
    let client: OwnedClient;
    try {
      client = await connecting as OwnedClient;
    } catch {
      return;
    }
    await client.close();
  }
}
