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

/** What a session id looks like. */
export const ID_PATTERN = /^[0-9a-f]{64}$/;

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

/** What the middleware reads of a session, kept out of the public API. */
export interface SessionState {
  data: SessionData;
  loadedText: string;
  storedId: string | undefined;
  createdAt: number | undefined;
  expiresAt: number | undefined;
  rotated: boolean;
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

export function isRecord(value: unknown): value is SessionRecord {
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
