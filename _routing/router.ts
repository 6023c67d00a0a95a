// The compiled matcher of DispatcherApp: path and method to the first
// registered route that matches, with its params converted.
//
// Routes are compiled lazily, once per method they answer (HEAD includes
// the routes of GET), into a segment tree (see pattern.ts for the
// steps): a node has its static children in a Map keyed by segment, its
// dynamic edges (one regex test per segment) and its tail edges (one sticky
// regex over the rest of the path). Every node and edge knows the smallest
// and largest registration index below it, so a depth-first walk that tries
// edges in order of their smallest index and stops at the first index not
// below the best match found so far returns exactly the first registered
// route that matches, as the linear scan `findLinear` does; a static route
// that no earlier route can match is answered from one Map lookup of the
// whole path. Adding a route drops the compiled trees.
//
// The file passes 1,000 lines because it is one concept, the one compiled
// matcher: the tree, its compiler and its walk share their node types and
// invariants, and the linear scan they are tested against.
import { decodeSegment } from "../_http/path.ts";
import {
  type Converter,
  escapeRegex,
  identity,
  isInt,
  type ParsedPattern,
  type Step,
} from "./pattern.ts";

/** Converted params by placeholder name (or anonymous position). */
export type Params = Record<string | number, unknown>;

/** A match: the route's registration index, its data and its params. */
export interface RouteMatch<T> {
  readonly index: number;
  readonly data: T;
  readonly params: Params;
}

/**
 * The params of every match of a route without placeholders: shared, so
 * frozen (the dispatcher gives handlers a fresh object instead).
 */
export const NO_PARAMS: Params = Object.freeze({});

/** The pseudo method whose tree holds every route, for 404 versus 405. */
const ANY = "";

class Entry<T> {
  readonly index: number;
  readonly pattern: ParsedPattern;
  readonly methods: ReadonlySet<string>;
  readonly data: T;
  readonly keys: (string | number)[];
  readonly converters: Converter[];
  readonly spans: boolean[];
  /** Each placeholder's parse, `null` where the value is the text. */
  readonly parsers: (((text: string) => unknown) | null)[];
  /** The store site of `single` for a route of one placeholder, or -1. */
  readonly site: number;

  constructor(
    index: number,
    pattern: ParsedPattern,
    methods: ReadonlySet<string>,
    data: T,
    sites: Sites,
  ) {
    this.index = index;
    this.pattern = pattern;
    this.methods = methods;
    this.data = data;
    this.keys = pattern.params.map((p) => p.key);
    this.converters = pattern.params.map((p) => p.converter);
    this.spans = pattern.params.map((p) => p.converter.spansSegments === true);
    this.parsers = pattern.params.map((p) =>
      p.converter.parse === identity ? null : p.converter.parse
    );
    this.site = this.keys.length === 1 ? sites.of(this.keys[0]) : -1;
  }

  answers(method: string): boolean {
    return method === ANY || this.methods.has(method) ||
      (method === "HEAD" && this.methods.has("GET"));
  }
}

/** No index: larger than any. */
const NONE = 0x3fffffff;

// Edge kinds.
const STATICS = 0; // the static children, one edge for all of them
const WHOLE = 1; // one segment, one placeholder
const MIXED = 2; // one segment, literal text and placeholders
const TAIL = 3; // the rest of the path, one regex
const REST = 4; // the rest of the path, one `path` placeholder

// Segment tests that need no regex, by the regex source they replace.
const TEST_ANY = 0; // `[^/]+`: any segment but an empty one
const TEST_INT = 1; // `[+-]?\d+`
const TEST_REGEX = 2;
const INT_SOURCE = "[+-]?\\d+";
const REST_SOURCE = "\\/(.+)$";

class Node<T> {
  /** Routes that end here, by index. */
  entries: Entry<T>[] = [];
  /** Static children by segment, while building. */
  statics: Map<string, Node<T>> | undefined = undefined;
  /** Dynamic and tail edges by step key, while building. */
  byKey: Map<string, Edge<T>> = new Map();
  /** All edges, by smallest index. */
  edges: Edge<T>[] = [];
  min = NONE;
  max = -1;
}

/** A combined regex and what its marker groups stand for. */
class Fast<T> {
  readonly regex: RegExp;
  readonly slots: readonly (Slot<T> | undefined)[];

  constructor(regex: RegExp, slots: (Slot<T> | undefined)[]) {
    this.regex = regex;
    this.slots = slots;
  }
}

/** A static child: literal text of one or more segments, from its "/". */
class StaticEdge<T> {
  readonly text: string;
  readonly child: Node<T>;

  constructor(text: string, child: Node<T>) {
    this.text = text;
    this.child = child;
  }
}

class Edge<T> {
  readonly kind: number;
  min = NONE;
  max = -1;
  /** STATICS: the static children by the char code after their "/". */
  byChar: (StaticEdge<T>[] | undefined)[] = [];
  test = TEST_ANY;
  regex: RegExp | null = null;
  count = 0;
  single: readonly boolean[] = [];
  child: Node<T> | undefined = undefined;
  /** The routes of a tail edge, by index. */
  entries: Entry<T>[] = [];
  /** Whether its regex stays within segments (see `cannotMatchSlash`). */
  safe = true;

  constructor(kind: number) {
    this.kind = kind;
  }
}

/** How the params of a fast-path match are read from the regex match. */
class Capture {
  /** The first group of this step in the combined regex. */
  readonly group: number;
  /** How many params the step gives. */
  readonly count: number;
  /**
   * `null` when groups `group...group+count-1` are the texts; else the step's
   * own regex, run on the text of `group` (a segment, or the rest of the
   * path), which gives them.
   */
  readonly check: RegExp | null;
  readonly kind: number;
  readonly single: readonly boolean[];

  constructor(
    group: number,
    count: number,
    check: RegExp | null,
    kind: number,
    single: readonly boolean[],
  ) {
    this.group = group;
    this.count = count;
    this.check = check;
    this.kind = kind;
    this.single = single;
  }
}

/** What the marker group of a route in the combined regex stands for. */
class Slot<T> {
  readonly entry: Entry<T>;
  readonly captures: readonly Capture[];
  /** The groups of the params when no step needs a check, else `null`. */
  readonly direct: number[] | null;
  /** Earlier routes that may match some path this route matches. */
  earlier: Entry<T>[] = [];
  /**
   * Whether a match is answered at once when its value has no "%": one
   * placeholder, converted in place, with a store site, and no earlier
   * route.
   */
  quick = false;

  constructor(entry: Entry<T>, captures: readonly Capture[]) {
    this.entry = entry;
    this.captures = captures;
    this.direct = captures.every((c) => c.check === null)
      ? captures.flatMap((c) =>
        Array.from({ length: c.count }, (_, k) => c.group + k)
      )
      : null;
  }
}

class Tree<T> {
  readonly root: Node<T> = new Node();
  /** The answers for static paths, made once (their params are empty). */
  readonly exact: Map<string, RouteMatch<T>> = new Map();
  /** Whether some static path has this length: most misses skip the map. */
  lengths: boolean[] = [];
  /** The combined regex of the routes, if they are few; see `combine`. */
  fast: Fast<T> | null = null;
  /**
   * Whether no route of the tree parses its values: then no converter can
   * start another walk while one runs.
   */
  plain = true;
}

/**
 * The most capturing groups a combined regex gets: past some dozens, the
 * match array the regex fills costs more than walking the tree.
 */
const MAX_GROUPS = 32;

/** Decodes a matched value; `path` values are decoded segment by segment. */
export function decodeValue(text: string, spans: boolean): string {
  return spans && text.includes("/")
    ? text.split("/").map(decodeSegment).join("/")
    : decodeSegment(text);
}

/** The params of `entry` from its texts, or `undefined` when refused. */
function convert<T>(entry: Entry<T>, texts: string[]): Params | undefined {
  const params: Params = {};
  const keys = entry.keys;
  for (let i = 0; i < keys.length; i++) {
    const text = texts[i];
    if (entry.parsers[i] === null && text.indexOf("%") === -1) {
      params[keys[i]] = text;
    } else {
      const value = parseOne(entry, i, text);
      if (value === REFUSED) return undefined;
      params[keys[i]] = value;
    }
  }
  return params;
}

// Params of one placeholder, the most common shape, are made by `single`,
// which has a store of its own for each of the first SITES names a router
// sees: a store that always sees the same name and the same empty object is
// monomorphic, about 7 ns per params object here against 14 ns for one store
// that sees every name (see "Routing" in bench/README.md).
const SITES = 8;

/** The store sites of one router's names, the first `SITES` it sees. */
class Sites {
  readonly #byName = new Map<string | number, number>();

  /** The store site of `single` for params named `key`, or -1 (shared). */
  of(key: string | number): number {
    let site = this.#byName.get(key);
    if (site === undefined) {
      site = this.#byName.size < SITES ? this.#byName.size : -1;
      if (site !== -1) this.#byName.set(key, site);
    }
    return site;
  }
}

/** The params `{ [key]: value }`, stored at site `site` (see `Sites`). */
function single(site: number, key: string | number, value: unknown): Params {
  const params: Params = {};
  switch (site) {
    case 0:
      params[key] = value;
      break;
    case 1:
      params[key] = value;
      break;
    case 2:
      params[key] = value;
      break;
    case 3:
      params[key] = value;
      break;
    case 4:
      params[key] = value;
      break;
    case 5:
      params[key] = value;
      break;
    case 6:
      params[key] = value;
      break;
    case 7:
      params[key] = value;
      break;
    default:
      params[key] = value;
  }
  return params;
}

/**
 * `convert` for texts at the groups `at` of a regex match; `escaped` tells
 * whether the path has any "%" (without, texts need no decoding).
 */
function direct<T>(
  entry: Entry<T>,
  m: RegExpExecArray,
  at: readonly number[],
  escaped: boolean,
): Params | undefined {
  const keys = entry.keys;
  const parsers = entry.parsers;
  if (entry.site !== -1) {
    let value: unknown = m[at[0]];
    if (parsers[0] !== null || escaped) {
      value = parseOne(entry, 0, value as string);
      if (value === REFUSED) return undefined;
    }
    return single(entry.site, keys[0], value);
  }
  const params: Params = {};
  for (let i = 0; i < keys.length; i++) {
    if (parsers[i] === null && !escaped) {
      params[keys[i]] = m[at[i]];
    } else {
      const value = parseOne(entry, i, m[at[i]]);
      if (value === REFUSED) return undefined;
      params[keys[i]] = value;
    }
  }
  return params;
}

/** What `parseOne` gives when the converter refuses the text. */
const REFUSED: unique symbol = Symbol("refused");

/** Decodes and parses the text of param `i` of `entry`. */
function parseOne<T>(entry: Entry<T>, i: number, text: string): unknown {
  try {
    if (text.indexOf("%") !== -1) text = decodeValue(text, entry.spans[i]);
    const parse = entry.parsers[i];
    return parse === null ? text : parse(text);
  } catch {
    return REFUSED;
  }
}

/**
 * Runs one route's steps over an encoded path: the number of captured
 * texts put into `caps`, or -1 when the path does not fit.
 */
export function runSteps(
  steps: readonly Step[],
  path: string,
  caps: string[],
): number {
  const length = path.length;
  if (path.charCodeAt(0) !== 47) return -1;
  let pos = 0;
  let n = 0;
  for (const step of steps) {
    if (pos >= length) return -1;
    if (step.kind === "tail") {
      step.regex.lastIndex = pos;
      const m = step.regex.exec(path);
      if (m === null) return -1;
      for (let k = 0; k < step.count; k++) {
        const text = m[k + 1];
        if (step.single[k] && text.includes("/")) return -1;
        caps[n++] = text;
      }
      return n;
    }
    let end = path.indexOf("/", pos + 1);
    if (end === -1) end = length;
    const segment = path.slice(pos + 1, end);
    if (step.kind === "static") {
      if (segment !== step.text) return -1;
    } else if (step.kind === "whole") {
      if (segment === "" || (step.test !== null && !step.test.test(segment))) {
        return -1;
      }
      caps[n++] = segment;
    } else {
      const m = step.regex.exec(segment);
      if (m === null) return -1;
      for (let k = 1; k <= step.count; k++) caps[n++] = m[k];
    }
    pos = end;
  }
  return pos === length ? n : -1;
}

/** The routes of one app, and the trees compiled from them. */
export class Router<T> {
  #entries: Entry<T>[] = [];
  #methods = new Set<string>();
  #sites = new Sites();
  #trees: Map<string, Tree<T>> | undefined = undefined;
  // The walk's state: a walk is synchronous, and a converter that starts
  // another one (`#busy`) gets the linear scan instead.
  #caps: string[] = [];
  #best = NONE;
  #bestEntry: Entry<T> | undefined = undefined;
  #bestParams: Params | undefined = undefined;
  #after = -1;
  #busy = false;
  // The trees of GET and of the last other method asked for, at hand.
  #getTree: Tree<T> | undefined = undefined;
  #lastMethod: string | undefined = undefined;
  #lastTree: Tree<T> | undefined = undefined;

  /** Appends a route; `methods` are upper-case. */
  add(pattern: ParsedPattern, methods: ReadonlySet<string>, data: T): void {
    this.#entries.push(
      new Entry(this.#entries.length, pattern, methods, data, this.#sites),
    );
    for (const method of methods) this.#methods.add(method);
    if (methods.has("GET")) this.#methods.add("HEAD");
    this.#trees = undefined;
    this.#getTree = undefined;
    this.#lastMethod = undefined;
    this.#lastTree = undefined;
  }

  /** The number of routes. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * The first route, registered after index `after`, that answers `method`
   * (HEAD: GET too) and matches the encoded `path`, with its params.
   */
  find(method: string, path: string, after = -1): RouteMatch<T> | undefined {
    if (this.#busy) return this.findLinear(method, path, after);
    const tree = method === "GET"
      ? this.#getTree ?? this.#treeFor(method)
      : method === this.#lastMethod
      ? this.#lastTree
      : this.#treeFor(method);
    if (tree === undefined) return undefined;
    if (after < 0 && tree.lengths[path.length] === true) {
      const found = tree.exact.get(path);
      if (found !== undefined) return found;
    }
    const fast = tree.fast;
    if (fast !== null && after < 0) {
      const m = fast.regex.exec(path);
      if (m === null) return undefined; // It holds every route.
      // The common case inline: a route of one placeholder that nothing
      // earlier overlaps.
      const slot = fast.slots[m.indexOf("", 1)];
      if (slot !== undefined && slot.quick) {
        const entry = slot.entry;
        const text = m[slot.direct![0]];
        if (text.indexOf("%") === -1) {
          const value = entry.parsers[0] === null
            ? text
            : parseOne(entry, 0, text);
          // A refused value goes the long way, which finds the next route.
          if (value !== REFUSED) {
            return {
              index: entry.index,
              data: entry.data,
              params: single(entry.site, entry.keys[0], value),
            };
          }
        }
      }
      let found;
      if (tree.plain) found = this.#fast(fast, m, path);
      else {
        this.#busy = true;
        found = this.#fast(fast, m, path);
        this.#busy = false;
      }
      if (found !== undefined) return found;
    }
    if (path.charCodeAt(0) !== 47) return undefined;
    // The walk cannot throw: converters are called inside a try.
    this.#best = NONE;
    this.#after = after;
    this.#busy = true;
    this.#walk(tree.root, path, 0, 0);
    this.#busy = false;
    if (this.#best === NONE) return undefined;
    const entry = this.#bestEntry!;
    const params = this.#bestParams!;
    this.#bestEntry = undefined;
    this.#bestParams = undefined;
    return { index: entry.index, data: entry.data, params };
  }

  /**
   * The route the combined regex found, if its values convert and no
   * earlier route that may overlap it matches (then the first of those);
   * `undefined` sends the caller to the walk.
   */
  #fast(
    fast: Fast<T>,
    m: RegExpExecArray,
    path: string,
  ): RouteMatch<T> | undefined {
    const slot = fast.slots[m.indexOf("", 1)];
    if (slot === undefined) return undefined; // An empty value came first.
    const entry = slot.entry;
    const params = slot.direct !== null
      ? direct(entry, m, slot.direct, path.indexOf("%") !== -1)
      : this.#checked(slot, m);
    if (params === undefined) return undefined;
    const earlier = slot.earlier;
    if (earlier.length === 0) {
      return { index: entry.index, data: entry.data, params };
    }
    const caps = this.#caps;
    for (let i = 0; i < earlier.length; i++) {
      const other = earlier[i];
      if (runSteps(other.pattern.steps, path, caps) === -1) continue;
      const p = convert(other, caps);
      if (p !== undefined) {
        return { index: other.index, data: other.data, params: p };
      }
    }
    return { index: entry.index, data: entry.data, params };
  }

  /** The params of a fast-path match whose steps need their own regex. */
  #checked(slot: Slot<T>, m: RegExpExecArray): Params | undefined {
    const caps = this.#caps;
    let n = 0;
    const captures = slot.captures;
    for (let i = 0; i < captures.length; i++) {
      const capture = captures[i];
      const check = capture.check;
      if (check === null) {
        for (let k = 0; k < capture.count; k++) {
          caps[n++] = m[capture.group + k];
        }
        continue;
      }
      const text = m[capture.group];
      if (capture.kind === WHOLE) {
        if (!check.test(text)) return undefined;
        caps[n++] = text;
        continue;
      }
      check.lastIndex = 0;
      const c = check.exec(text);
      if (c === null) return undefined;
      for (let k = 1; k <= capture.count; k++) {
        if (
          capture.kind === TAIL && capture.single[k - 1] && c[k].includes("/")
        ) {
          return undefined;
        }
        caps[n++] = c[k];
      }
    }
    return convert(slot.entry, caps);
  }

  /** The same as `find`, by trying every route in order (the reference). */
  findLinear(
    method: string,
    path: string,
    after = -1,
  ): RouteMatch<T> | undefined {
    const caps: string[] = [];
    for (const entry of this.#entries) {
      if (entry.index <= after || !entry.answers(method)) continue;
      if (runSteps(entry.pattern.steps, path, caps) === -1) continue;
      const params = convert(entry, caps);
      if (params !== undefined) {
        return { index: entry.index, data: entry.data, params };
      }
    }
    return undefined;
  }

  /**
   * The methods of the routes that match `path` but do not answer
   * `method`, HEAD added where GET is, sorted; empty when there are none.
   */
  allowed(path: string, method: string): string[] {
    if (this.find(ANY, path) === undefined) return [];
    const allowed = new Set<string>();
    const caps: string[] = [];
    for (const entry of this.#entries) {
      if (entry.answers(method)) continue;
      if (runSteps(entry.pattern.steps, path, caps) === -1) continue;
      if (convert(entry, caps) === undefined) continue;
      for (const m of entry.methods) allowed.add(m);
      if (entry.methods.has("GET")) allowed.add("HEAD");
    }
    return [...allowed].sort();
  }

  #treeFor(method: string): Tree<T> | undefined {
    const tree = this.#trees?.get(method) ?? this.#tree(method);
    if (method === "GET") this.#getTree = tree;
    else {
      this.#lastMethod = method;
      this.#lastTree = tree;
    }
    return tree;
  }

  #tree(method: string): Tree<T> | undefined {
    this.#trees ??= new Map();
    let tree = this.#trees.get(method);
    if (tree === undefined) {
      // Only methods that some route answers get a tree, so requests with
      // made-up methods cannot grow this map.
      if (method !== ANY && !this.#methods.has(method)) return undefined;
      tree = this.#build(method);
      this.#trees.set(method, tree);
    }
    return tree;
  }

  #build(method: string): Tree<T> {
    this.#busy = true;
    try {
      return this.#compile(method);
    } finally {
      this.#busy = false;
    }
  }

  #compile(method: string): Tree<T> {
    const tree = new Tree<T>();
    const entries = this.#entries.filter((e) => e.answers(method));
    tree.plain = entries.every((e) => e.parsers.every((p) => p === null));
    for (const entry of entries) insert(tree.root, entry);
    finish(tree.root);
    // A static route goes into the exact map when no earlier route of this
    // method matches its path: then one lookup answers it.
    for (const entry of entries) {
      const path = entry.pattern.staticPath;
      if (path === undefined || tree.exact.has(path)) continue;
      this.#best = NONE;
      this.#bestEntry = undefined;
      this.#after = -1;
      this.#walk(tree.root, path, 0, 0);
      if ((this.#bestEntry as Entry<T> | undefined) === entry) {
        tree.exact.set(
          path,
          Object.freeze({
            index: entry.index,
            data: entry.data,
            params: NO_PARAMS,
          }),
        );
      }
    }
    this.#bestEntry = undefined;
    this.#bestParams = undefined;
    const longest = Math.max(0, ...[...tree.exact.keys()].map((p) => p.length));
    tree.lengths = Array.from({ length: longest + 1 }, () => false);
    for (const path of tree.exact.keys()) tree.lengths[path.length] = true;
    combine(tree, entries);
    return tree;
  }

  /** Accepts `entry` at a node reached with `n` captures, if it converts. */
  #accept(entry: Entry<T>): boolean {
    const params = convert(entry, this.#caps);
    if (params === undefined) return false;
    this.#best = entry.index;
    this.#bestEntry = entry;
    this.#bestParams = params;
    return true;
  }

  // The last edge of a node is followed in the loop, not by recursion.
  #walk(node: Node<T>, path: string, pos: number, n: number): void {
    const length = path.length;
    const caps = this.#caps;
    walk: for (;;) {
      if (pos === length) {
        const entries = node.entries;
        for (let i = 0; i < entries.length; i++) {
          const entry = entries[i];
          if (entry.index >= this.#best) return;
          if (entry.index > this.#after && this.#accept(entry)) return;
        }
        return;
      }
      const edges = node.edges;
      const last = edges.length - 1;
      let end = -1;
      for (let i = 0; i <= last; i++) {
        const edge = edges[i];
        if (edge.min >= this.#best) return;
        if (edge.max <= this.#after) continue;
        const kind = edge.kind;
        if (kind === STATICS) {
          // The char after the "/"; an empty segment is looked up as "/".
          const c = pos + 1 === length ? 47 : path.charCodeAt(pos + 1);
          const bucket = edge.byChar[c];
          if (bucket === undefined) continue;
          for (let j = 0; j < bucket.length; j++) {
            const text = bucket[j].text;
            const stop = pos + text.length;
            if (stop > length) continue;
            let k = 2;
            while (
              k < text.length && text.charCodeAt(k) === path.charCodeAt(pos + k)
            ) k++;
            if (k < text.length) continue;
            if (stop !== length && path.charCodeAt(stop) !== 47) continue;
            const child = bucket[j].child;
            if (child.min >= this.#best || child.max <= this.#after) break;
            if (i === last) {
              node = child;
              pos = stop;
              continue walk;
            }
            this.#walk(child, path, stop, n);
            break; // Static children differ in their first segment.
          }
          continue;
        }
        if (end === -1) {
          end = path.indexOf("/", pos + 1);
          if (end === -1) end = length;
        }
        let next: Node<T>;
        let count = 1;
        if (kind === WHOLE) {
          if (end === pos + 1) continue;
          const test = edge.test;
          if (test === TEST_ANY) {
            caps[n] = path.slice(pos + 1, end);
          } else if (test === TEST_INT) {
            if (!isInt(path, pos + 1, end)) continue;
            caps[n] = path.slice(pos + 1, end);
          } else {
            const segment = path.slice(pos + 1, end);
            if (!edge.regex!.test(segment)) continue;
            caps[n] = segment;
          }
          next = edge.child!;
        } else if (kind === MIXED) {
          const m = edge.regex!.exec(path.slice(pos + 1, end));
          if (m === null) continue;
          count = edge.count;
          for (let k = 0; k < count; k++) caps[n + k] = m[k + 1];
          next = edge.child!;
        } else {
          if (kind === REST) {
            if (pos + 1 === length) continue;
            caps[n] = path.slice(pos + 1);
          } else {
            const regex = edge.regex!;
            regex.lastIndex = pos;
            const m = regex.exec(path);
            if (m === null) continue;
            let ok = true;
            for (let k = 0; k < edge.count; k++) {
              const text = m[k + 1];
              if (edge.single[k] && text.includes("/")) ok = false;
              caps[n + k] = text;
            }
            if (!ok) continue;
          }
          const entries = edge.entries;
          for (let j = 0; j < entries.length; j++) {
            const entry = entries[j];
            if (entry.index >= this.#best) break;
            if (entry.index > this.#after && this.#accept(entry)) break;
          }
          continue;
        }
        if (i === last) {
          node = next;
          pos = end;
          n += count;
          continue walk;
        }
        this.#walk(next, path, end, n + count);
      }
      return;
    }
  }
}

function insert<T>(root: Node<T>, entry: Entry<T>): void {
  let node = root;
  for (const step of entry.pattern.steps) {
    if (step.kind === "static") {
      node.statics ??= new Map();
      let child = node.statics.get(step.text);
      if (child === undefined) {
        child = new Node();
        node.statics.set(step.text, child);
      }
      node = child;
      continue;
    }
    const key = `${step.kind}:${step.key}`;
    let edge = node.byKey.get(key);
    if (edge === undefined) {
      if (step.kind === "whole") {
        edge = new Edge(WHOLE);
        edge.test = step.test === null
          ? TEST_ANY
          : step.key === INT_SOURCE
          ? TEST_INT
          : TEST_REGEX;
        edge.regex = step.test;
        edge.safe = step.safe;
        edge.child = new Node();
      } else if (step.kind === "mixed") {
        edge = new Edge(MIXED);
        edge.regex = step.regex;
        edge.safe = step.safe;
        edge.count = step.count;
        edge.child = new Node();
      } else {
        // `.+` never meets a line break in an encoded path: the rest of
        // the path, if not empty, is the value.
        edge = new Edge(
          step.key === REST_SOURCE && step.count === 1 ? REST : TAIL,
        );
        edge.regex = step.regex;
        edge.count = step.count;
        edge.single = step.single;
        edge.safe = step.safe;
      }
      node.byKey.set(key, edge);
    }
    if (step.kind === "tail") {
      edge.entries.push(entry);
      return;
    }
    node = edge.child!;
  }
  node.entries.push(entry);
}

/**
 * Sets the smallest and largest indexes below every node, orders its
 * edges, and merges chains of static segments into one static edge.
 */
function finish<T>(node: Node<T>): void {
  const edges: Edge<T>[] = [];
  if (node.statics !== undefined) {
    const edge = new Edge<T>(STATICS);
    edge.byChar = new Array(128);
    for (let [segment, child] of node.statics) {
      let text = "/" + segment;
      // A node with no routes and one static child is skipped over.
      while (
        child.entries.length === 0 && child.byKey.size === 0 &&
        child.statics !== undefined && child.statics.size === 1 &&
        segment !== ""
      ) {
        [segment, child] = child.statics.entries().next().value!;
        text += "/" + segment;
      }
      finish(child);
      edge.min = Math.min(edge.min, child.min);
      edge.max = Math.max(edge.max, child.max);
      const c = text.length > 1 ? text.charCodeAt(1) : 47;
      (edge.byChar[c] ??= []).push(new StaticEdge(text, child));
    }
    node.statics = undefined;
    edges.push(edge);
  }
  for (const edge of node.byKey.values()) {
    if (edge.kind === TAIL || edge.kind === REST) {
      edge.min = edge.entries[0].index;
      edge.max = edge.entries[edge.entries.length - 1].index;
    } else {
      finish(edge.child!);
      edge.min = edge.child!.min;
      edge.max = edge.child!.max;
    }
    edges.push(edge);
  }
  edges.sort((a, b) => a.min - b.min);
  node.edges = edges;
  node.byKey = new Map();
  node.min = node.entries.length ? node.entries[0].index : NONE;
  node.max = node.entries.length
    ? node.entries[node.entries.length - 1].index
    : -1;
  for (const edge of edges) {
    node.min = Math.min(node.min, edge.min);
    node.max = Math.max(node.max, edge.max);
  }
}

/**
 * Compiles the non-static routes of a tree into one regex, in Hono's
 * RegExpRouter style: the tree's shape factored into nested alternatives,
 * and an empty group after each route whose index (the first empty string
 * of the match) names the route. The regex finds a route that matches, not
 * always the first registered one, so each route also gets the earlier
 * routes that might match the same paths, checked at match time. A step
 * whose regex might match a "/" is matched as a whole segment (or the rest
 * of the path) and checked with its own regex afterwards.
 */
function combine<T>(tree: Tree<T>, entries: readonly Entry<T>[]): void {
  const fast = compile(tree.root);
  if (fast === null) return;
  tree.fast = fast;
  for (const slot of fast.slots) {
    if (slot === undefined) continue;
    const k = slot.entry;
    slot.earlier = entries.filter((j) => j.index < k.index && mayOverlap(j, k));
    slot.quick = slot.earlier.length === 0 && slot.direct !== null &&
      k.site !== -1;
  }
}

/** The combined regex of a tree, or `null` (none, or too big). */
function compile<T>(root: Node<T>): Fast<T> | null {
  let groups = 0;
  const slots: Slot<T>[] = [];
  const mark = (entry: Entry<T>, captures: Capture[]): string => {
    slots[++groups] = new Slot(entry, captures);
    return "()";
  };
  const alternatives = (node: Node<T>, captures: Capture[]): string => {
    const parts: string[] = [];
    // Routes that end here; static ones are answered by the exact map.
    const ending = node.entries.filter((e) =>
      e.pattern.staticPath === undefined
    );
    if (ending.length) parts.push("$" + mark(ending[0], captures));
    for (const edge of node.edges) {
      if (edge.kind === STATICS) {
        for (const bucket of edge.byChar) {
          for (const se of bucket ?? []) {
            const rest = alternatives(se.child, captures);
            if (rest) parts.push(escapeRegex(se.text) + rest);
          }
        }
        continue;
      }
      const group = groups + 1;
      let body: string;
      let capture: Capture;
      if (edge.kind === WHOLE) {
        const source = edge.regex === null
          ? "[^/]+"
          : edge.regex.source.slice(1, -1);
        body = `\\/(${edge.safe ? source : "[^/]+"})`;
        capture = new Capture(
          group,
          1,
          edge.safe ? null : edge.regex,
          WHOLE,
          [],
        );
        groups++;
      } else if (edge.kind === MIXED) {
        body = "\\/" +
          (edge.safe ? edge.regex!.source.slice(1, -1) : "([^/]+)");
        capture = new Capture(
          group,
          edge.count,
          edge.safe ? null : edge.regex,
          MIXED,
          [],
        );
        groups += edge.safe ? edge.count : 1;
      } else {
        body = edge.safe ? edge.regex!.source : "(\\/.*)$";
        capture = new Capture(
          group,
          edge.count,
          edge.safe ? null : edge.regex,
          TAIL,
          edge.single,
        );
        groups += edge.safe ? edge.count : 1;
        parts.push(body + mark(edge.entries[0], [...captures, capture]));
        continue;
      }
      const rest = alternatives(edge.child!, [...captures, capture]);
      if (rest) parts.push(body + rest);
      else groups = group - 1;
    }
    // Most alternatives start with "/": match it once.
    const slashed = parts.filter((p) => p.startsWith("\\/"));
    const others = parts.filter((p) => !p.startsWith("\\/"));
    if (slashed.length > 1) {
      others.push("\\/" + group(slashed.map((p) => p.slice(2))));
    } else others.push(...slashed);
    return group(others);
  };
  const group = (parts: string[]): string =>
    parts.length <= 1 ? (parts[0] ?? "") : `(?:${parts.join("|")})`;
  const source = alternatives(root, []);
  if (source === "" || groups > MAX_GROUPS) return null;
  return new Fast(new RegExp("^" + source), slots);
}

/**
 * Whether some path might match both routes, on the safe side: different
 * static segments, or a static segment that the other route's regex for
 * that segment refuses, or different numbers of segments, rule it out.
 */
function mayOverlap<T>(a: Entry<T>, b: Entry<T>): boolean {
  const x = a.pattern.steps;
  const y = b.pattern.steps;
  const length = Math.min(x.length, y.length);
  for (let i = 0; i < length; i++) {
    const s = x[i];
    const t = y[i];
    if (s.kind === "tail" || t.kind === "tail") return true;
    if (s.kind === "static" && t.kind === "static") {
      if (s.text !== t.text) return false;
    } else if (s.kind === "static" || t.kind === "static") {
      const text = s.kind === "static" ? s.text : (t as { text: string }).text;
      const other = s.kind === "static" ? t : s;
      if (!segmentMayMatch(other, text)) return false;
    }
  }
  return x.length === y.length;
}

function segmentMayMatch(step: Step, segment: string): boolean {
  if (step.kind === "whole") {
    return segment !== "" && (step.test === null || step.test.test(segment));
  }
  if (step.kind === "mixed") return step.regex.test(segment);
  return true;
}
