/**
 * An ordered, multi-valued map: the shape of query strings, forms, uploaded
 * files and cookies, where one name may carry several values.
 *
 * It follows Pesto's `pesto.utils.MultiDict` with the method names of the
 * web's `URLSearchParams` (`get`, `getAll`, `set`, `append`, `delete`).
 *
 * @example Reading a query string
 * ```ts
 * import { MultiDict } from "@pesto/pesto/multidict";
 * import assert from "node:assert/strict";
 *
 * const tags = new MultiDict([["tag", "red"], ["tag", "blue"], ["page", "2"]]);
 * assert.equal(tags.get("tag"), "red");
 * assert.deepEqual(tags.getAll("tag"), ["red", "blue"]);
 * assert.deepEqual([...tags.keys()], ["tag", "page"]);
 * ```
 *
 * @module
 */

/** What a {@linkcode MultiDict} can be built from. */
export type MultiDictInit<V> =
  | Iterable<readonly [string, V]>
  | MultiDict<V>
  | Record<string, V | readonly V[]>;

/**
 * An ordered map from string keys to one or more values.
 *
 * - `get(key)` gives the first value, `getAll(key)` every value.
 * - `set(key, value)` replaces every value of `key` (the key keeps the place
 *   of its first value, as in `URLSearchParams`); `append` adds one more.
 * - `keys()` gives each distinct key once, in order of first insertion;
 *   `entries()`, `values()` and iteration give every pair in insertion order.
 * - `size` is the number of distinct keys.
 *
 * @typeParam V The type of the values.
 *
 * @example
 * ```ts
 * import { MultiDict } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const d = new MultiDict<string>();
 * d.append("a", "1");
 * d.append("b", "2");
 * d.append("a", "3");
 * assert.deepEqual([...d], [["a", "1"], ["b", "2"], ["a", "3"]]);
 * d.set("a", "4");
 * assert.deepEqual([...d], [["a", "4"], ["b", "2"]]);
 * assert.equal(d.size, 2);
 * ```
 */
export class MultiDict<V> implements Iterable<[string, V]> {
  #pairs: [string, V][] = [];
  #index: Map<string, V[]> = new Map();

  /**
   * Creates a `MultiDict`.
   *
   * @param init Pairs (repeated keys allowed), another `MultiDict`, or a
   *   record whose array values become repeated keys.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict({ a: ["1", "2"], b: "3" });
   * assert.deepEqual(d.getAll("a"), ["1", "2"]);
   * ```
   */
  constructor(init?: MultiDictInit<V>) {
    if (init === undefined || init === null) return;
    if (init instanceof MultiDict || Symbol.iterator in init) {
      for (const [key, value] of init as Iterable<readonly [string, V]>) {
        this.append(key, value);
      }
      return;
    }
    for (const [key, value] of Object.entries(init)) {
      if (Array.isArray(value)) { for (const v of value) this.append(key, v); }
      else this.append(key, value as V);
    }
  }

  /**
   * The number of distinct keys.
   *
   * @returns How many different keys there are.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new MultiDict([["a", 1], ["a", 2]]).size, 1);
   * ```
   */
  get size(): number {
    return this.#index.size;
  }

  /**
   * The first value of `key`.
   *
   * @param key The key to look up.
   * @returns The first value, or `undefined` when the key is absent.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["a", "1"], ["a", "2"]]);
   * assert.equal(d.get("a"), "1");
   * assert.equal(d.get("b"), undefined);
   * ```
   */
  get(key: string): V | undefined {
    return this.#index.get(key)?.[0];
  }

  /**
   * Every value of `key`, in insertion order.
   *
   * @param key The key to look up.
   * @returns A new array; empty when the key is absent.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["a", "1"], ["a", "2"]]);
   * assert.deepEqual(d.getAll("a"), ["1", "2"]);
   * assert.deepEqual(d.getAll("b"), []);
   * ```
   */
  getAll(key: string): V[] {
    const values = this.#index.get(key);
    return values ? [...values] : [];
  }

  /**
   * Whether `key` has at least one value.
   *
   * @param key The key to look for.
   * @returns `true` when present.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.ok(new MultiDict([["a", ""]]).has("a"));
   * ```
   */
  has(key: string): boolean {
    return this.#index.has(key);
  }

  /**
   * Replaces every value of `key` with `value`. The key keeps the position of
   * its first value; a new key goes to the end.
   *
   * @param key The key to set.
   * @param value Its only value from now on.
   * @returns This `MultiDict`, for chaining.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["a", "1"], ["b", "2"], ["a", "3"]]);
   * d.set("a", "x");
   * assert.deepEqual([...d], [["a", "x"], ["b", "2"]]);
   * ```
   */
  set(key: string, value: V): this {
    if (!this.#index.has(key)) return this.append(key, value);
    let seen = false;
    this.#pairs = this.#pairs.filter((pair) => {
      if (pair[0] !== key) return true;
      if (seen) return false;
      seen = true;
      pair[1] = value;
      return true;
    });
    this.#index.set(key, [value]);
    return this;
  }

  /**
   * Adds one more value for `key`, after all the others.
   *
   * @param key The key.
   * @param value The value to add.
   * @returns This `MultiDict`, for chaining.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict<string>().append("a", "1").append("a", "2");
   * assert.deepEqual(d.getAll("a"), ["1", "2"]);
   * ```
   */
  append(key: string, value: V): this {
    this.#pairs.push([key, value]);
    const values = this.#index.get(key);
    if (values) values.push(value);
    else this.#index.set(key, [value]);
    return this;
  }

  /**
   * Removes every value of `key`.
   *
   * @param key The key to remove.
   * @returns `true` when the key was present.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["a", "1"], ["a", "2"]]);
   * assert.equal(d.delete("a"), true);
   * assert.equal(d.has("a"), false);
   * ```
   */
  delete(key: string): boolean {
    if (!this.#index.delete(key)) return false;
    this.#pairs = this.#pairs.filter((pair) => pair[0] !== key);
    return true;
  }

  /**
   * Removes everything.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["a", "1"]]);
   * d.clear();
   * assert.equal(d.size, 0);
   * ```
   */
  clear(): void {
    this.#pairs = [];
    this.#index.clear();
  }

  /**
   * Each distinct key once, in order of first insertion.
   *
   * @returns An iterator of keys.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["b", 1], ["a", 2], ["b", 3]]);
   * assert.deepEqual([...d.keys()], ["b", "a"]);
   * ```
   */
  keys(): IterableIterator<string> {
    return this.#index.keys();
  }

  /**
   * Every value, in insertion order.
   *
   * @returns An iterator of values.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["b", 1], ["a", 2], ["b", 3]]);
   * assert.deepEqual([...d.values()], [1, 2, 3]);
   * ```
   */
  *values(): IterableIterator<V> {
    for (const pair of this.#pairs) yield pair[1];
  }

  /**
   * Every `[key, value]` pair, in insertion order.
   *
   * @returns An iterator of pairs (copies: changing one changes nothing here).
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["b", 1], ["a", 2], ["b", 3]]);
   * assert.deepEqual([...d.entries()], [["b", 1], ["a", 2], ["b", 3]]);
   * ```
   */
  *entries(): IterableIterator<[string, V]> {
    for (const [key, value] of this.#pairs) yield [key, value];
  }

  /**
   * Every `[key, value]` pair, in insertion order; the same as `entries()`.
   *
   * @returns An iterator of pairs.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * for (const [key, value] of new MultiDict([["a", 1]])) {
   *   assert.equal(key, "a");
   *   assert.equal(value, 1);
   * }
   * ```
   */
  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /**
   * Calls `callback` for every pair, in insertion order.
   *
   * @param callback Called with each value, its key and this `MultiDict`.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const seen: string[] = [];
   * new MultiDict([["a", "1"], ["a", "2"]]).forEach((v, k) => seen.push(k + v));
   * assert.deepEqual(seen, ["a1", "a2"]);
   * ```
   */
  forEach(callback: (value: V, key: string, dict: this) => void): void {
    for (const [key, value] of this.#pairs) callback(value, key, this);
  }

  /**
   * Appends every pair of `other` (Pesto's `extend`): pairs, another
   * `MultiDict`, or a record whose array values become repeated keys.
   *
   * @param other What to add.
   * @returns This `MultiDict`, for chaining.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["a", "1"]]).extend({ a: ["2", "3"], b: "4" });
   * assert.deepEqual([...d], [["a", "1"], ["a", "2"], ["a", "3"], ["b", "4"]]);
   * ```
   */
  extend(other: MultiDictInit<V>): this {
    for (const [key, value] of new MultiDict(other).#pairs) {
      this.append(key, value);
    }
    return this;
  }

  /**
   * Each distinct key once with all its values, in order of first
   * insertion (Pesto's `listitems`).
   *
   * @returns An iterator of `[key, values]` (the arrays are copies).
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["a", 1], ["b", 2], ["a", 3]]);
   * assert.deepEqual([...d.lists()], [["a", [1, 3]], ["b", [2]]]);
   * ```
   */
  *lists(): IterableIterator<[string, V[]]> {
    for (const [key, values] of this.#index) yield [key, [...values]];
  }

  /**
   * A shallow copy.
   *
   * @returns A new `MultiDict` with the same pairs.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const a = new MultiDict([["x", 1]]);
   * const b = a.copy().append("x", 2);
   * assert.deepEqual(a.getAll("x"), [1]);
   * assert.deepEqual(b.getAll("x"), [1, 2]);
   * ```
   */
  copy(): MultiDict<V> {
    return new MultiDict(this.#pairs);
  }

  /**
   * A plain object with the first value of each key, handy for logging or
   * JSON.
   *
   * @returns A record of first values.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["a", "1"], ["a", "2"], ["b", "3"]]);
   * assert.deepEqual(d.toObject(), { a: "1", b: "3" });
   * ```
   */
  toObject(): Record<string, V> {
    const out: Record<string, V> = {};
    for (const [key, values] of this.#index) out[key] = values[0];
    return out;
  }

  /**
   * Every pair, for `JSON.stringify` (which would otherwise give `{}`).
   *
   * @returns The `[key, value]` pairs, in insertion order.
   *
   * @example
   * ```ts
   * import { MultiDict } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const d = new MultiDict([["a", "1"], ["a", "2"]]);
   * assert.equal(JSON.stringify(d), '[["a","1"],["a","2"]]');
   * ```
   */
  toJSON(): [string, V][] {
    return [...this.entries()];
  }

  /**
   * How `console.log` and `Deno.inspect` show it: `MultiDict [ pairs ]`.
   *
   * @param inspect Deno's inspect function.
   * @param options Deno's inspect options.
   * @returns The text.
   */
  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options?: unknown) => string,
    options: unknown,
  ): string {
    return `MultiDict ${inspect(this.toJSON(), options)}`;
  }
}
