// The session of a request: its data class, the store interface, and the
// form a record is kept in. The middleware is in middleware.ts beside this
// file, the stores in their own files; the public face is session.ts.

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

/** What a session id (or a CSRF secret) looks like: 64 hex digits. */
export const ID_PATTERN = /^[0-9a-f]{64}$/;

/** 256 random bits as 64 lowercase hex digits: a session id, a secret. */
export function newId(): string {
  return hex(crypto.getRandomValues(new Uint8Array(32)));
}

const HEX = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/** `bytes` as lowercase hex digits. */
export function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/** What the middleware reads of a session, kept out of the public API. */
export interface SessionState {
  data: SessionData;
  loadedText: string;
  storedId: string | undefined;
  createdAt: number | undefined;
  expiresAt: number | undefined;
  rotated: boolean;
}

/** A flash message, as {@linkcode Session.prototype.takeFlashes} gives it. */
export interface Flash {
  /** The message. */
  message: string;
  /** Its category (`"message"`, `"error"`, ...), for styling. */
  category: string;
}

/**
 * The reserved key the pending flash messages are kept under in the session
 * data: `get`, `has`, `keys`, `size` and `delete` do not see it, and `set`
 * refuses it.
 */
const FLASH_KEY = "pesto.flashes";

function flashesIn(data: SessionData): Flash[] {
  const list = data[FLASH_KEY];
  if (!Array.isArray(list)) return [];
  // Stored data is read leniently: anything that is not a flash is dropped.
  return list.flatMap((item) =>
    typeof item === "object" && item !== null && !Array.isArray(item) &&
      typeof item.message === "string" && typeof item.category === "string"
      ? [{ message: item.message, category: item.category }]
      : []
  );
}

/** The key of the static method that gives a session's state. */
export const kState: unique symbol = Symbol("pesto.sessionState");
/** The key of the static method that makes a session from a stored record. */
export const kLoad: unique symbol = Symbol("pesto.loadSession");

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

  /** @ignore The state the middleware reads and saves. */
  static [kState](session: Session): SessionState {
    return session.#state;
  }

  /** @ignore A session loaded from its stored record. */
  static [kLoad](id: string, record: SessionRecord): Session {
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
    const data = this.#state.data;
    return Object.keys(data).length - (Object.hasOwn(data, FLASH_KEY) ? 1 : 0);
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
    return Object.hasOwn(data, key) && key !== FLASH_KEY
      ? data[key] as T
      : undefined;
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
    if (key === FLASH_KEY) {
      throw new TypeError(
        `Cannot set session value "${key}": the key is reserved for flash messages`,
      );
    }
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
    return Object.hasOwn(this.#state.data, key) && key !== FLASH_KEY;
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
    if (!this.has(key)) return false;
    delete this.#state.data[key];
    return true;
  }

  /**
   * Removes every key, and the flash messages not yet taken (the session
   * and its id stay).
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
    const keys = Object.keys(this.#state.data);
    return Object.hasOwn(this.#state.data, FLASH_KEY)
      ? keys.filter((key) => key !== FLASH_KEY)
      : keys;
  }

  /**
   * Leaves a message for the next page that shows them (Flask's `flash`):
   * "Note saved" before a redirect. Messages are kept in the session, in
   * order, until {@linkcode Session.prototype.takeFlashes} reads them,
   * however many requests (redirects included) come in between; they are
   * saved with the session at the end of the request, so a session that was
   * new gets its cookie. `clear()` and `invalidate()` drop the messages not
   * yet taken, `regenerate()` keeps them: flash after `invalidate()` to tell
   * a user who just logged out.
   *
   * The data lives in the session record under a reserved key (`get`,
   * `has`, `keys` and `size` do not see it). The method is async although
   * that is plain memory during a request: the promise leaves room for
   * messages kept apart from the record (a store that takes them
   * atomically, so that two concurrent requests of one session can neither
   * both show nor both lose a message; as it is, the last save wins, see
   * {@linkcode sessionMiddleware}) without changing any caller. Await it.
   *
   * @param message The text to show.
   * @param category Its category, for styling (`"error"`, `"info"`, ...).
   * @returns A promise that settles once the message is kept.
   * @throws {TypeError} When `message` or `category` is not a string (as a
   *   rejection).
   *
   * @example
   * ```ts
   * import { Session } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const session = new Session();
   * await session.flash("Note saved");
   * await session.flash("Title is too long", "error");
   * assert.deepEqual(session.keys(), []);
   * assert.deepEqual(await session.takeFlashes(), [
   *   { message: "Note saved", category: "message" },
   *   { message: "Title is too long", category: "error" },
   * ]);
   * assert.deepEqual(await session.takeFlashes(), []);
   * ```
   */
  // deno-lint-ignore require-await
  async flash(message: string, category = "message"): Promise<void> {
    if (typeof message !== "string" || typeof category !== "string") {
      throw new TypeError(
        "Cannot flash a message: the message and its category must be strings",
      );
    }
    const data = this.#state.data;
    const kept: JsonValue[] = flashesIn(data).map((flash) => ({ ...flash }));
    kept.push({ message, category });
    data[FLASH_KEY] = kept;
  }

  /**
   * Gives the flash messages left by {@linkcode Session.prototype.flash}, in
   * the order they were left, and removes them: the session is saved
   * without them at the end of the request, so each message is shown once.
   * With none pending it changes nothing (a page that shows flash messages
   * does not write the session on every view). Async for the reason given
   * at `flash()`.
   *
   * @returns A promise of the messages, `[]` when there are none.
   *
   * @example
   * ```ts
   * import { compose, DispatcherApp, Response, sessionMiddleware } from "@pesto/pesto";
   * import { TestApp } from "@pesto/pesto/testing";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * app.match("/save", "POST", async (request) => {
   *   await request.session.flash("Saved");
   *   return Response.redirect("/", 303);
   * });
   * app.match("/", "GET", async (request) =>
   *   Response.json(await request.session.takeFlashes()));
   *
   * const client = new TestApp({ fetch: compose(sessionMiddleware())(app.fetch) });
   * assert.equal((await client.post("/save")).status, 303);
   * assert.deepEqual((await client.get("/")).json(), [{ message: "Saved", category: "message" }]);
   * assert.deepEqual((await client.get("/")).json(), []);
   * ```
   */
  // deno-lint-ignore require-await
  async takeFlashes(): Promise<Flash[]> {
    const data = this.#state.data;
    if (!Object.hasOwn(data, FLASH_KEY)) return [];
    const flashes = flashesIn(data);
    delete data[FLASH_KEY];
    return flashes;
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

function isRecord(value: unknown): value is SessionRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  const data = record.data;
  return typeof data === "object" && data !== null && !Array.isArray(data) &&
    Number.isFinite(record.createdAt) && Number.isFinite(record.expiresAt);
}

/** Parses a record kept as JSON text; `undefined` when it is not one. */
export function parseRecord(text: unknown): SessionRecord | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const value = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function recordText(record: SessionRecord): string {
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
