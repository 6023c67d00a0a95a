// A stress test of the release of sent bodies (_sent_body.ts): once
// `Deno.serve` has sent a byte response of 4 KiB or more, the runtime's copy
// of its bytes is detached. Should a Deno upgrade change what that release
// reads, it could corrupt answers (or the application's own arrays) instead
// of only costing memory. Many concurrent answers of every kind, over real
// sockets, each checked with SHA-256 against the bytes it should carry; then
// the same requests again, and the arrays the application and its
// middlewares kept are checked in memory.
import assert from "node:assert/strict";
import {
  type Decorator,
  DispatcherApp,
  Response,
  serveFile,
  serveStatic,
  toHandler,
} from "@pesto/pesto";

/** Clients at once, and the seed of everything random here. */
const CONCURRENCY = 32;
const SEED = 0x5e17b0d7;
/** Ids per kind of in-memory body, and arrays shared by every request. */
const IDS = 20;
const SHARED_COUNT = 6;
const MIN_SIZE = 4096;
const MAX_SIZE = 300 * 1024;
/** Files served from disk; above 64 KiB they go out as the file's stream. */
const FILE_SIZES = [
  0,
  1,
  1000,
  4095,
  4096,
  20_000,
  65_535,
  65_536,
  65_537,
  100_000,
  300_001,
  1_048_576,
];

/** A seeded 32-bit pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `size` pseudo-random bytes from `seed`: each seed gives other bytes. */
function fill(seed: number, size: number): Uint8Array<ArrayBuffer> {
  const words = new Uint32Array(Math.ceil(size / 4));
  const next = random(seed);
  for (let i = 0; i < words.length; i++) words[i] = next();
  const bytes = new Uint8Array(words.buffer);
  return size % 4 === 0 ? bytes : bytes.slice(0, size);
}

/** The kinds of bodies made in memory, each answered by its own route. */
const KINDS = [
  "pesto", // a Pesto Response of fresh bytes
  "web", // the same as a plain web Response
  "kept", // a Pesto Response of bytes the handler keeps
  "shared", // a new Pesto Response of a module-level array, every time
  "shared-web", // a new web Response of a module-level array, every time
  "read", // a decorator read the body, answers a new Response of it
  "cloned", // a decorator read a clone of the body, answers the original
  "cloned-web", // the same for a plain web Response
  "cloned-late", // a decorator keeps a clone, read once the original was sent
  "outer-read", // "read" and "cloned" around the app's fetch handler, where
  "outer-cloned", // the app has already scheduled the release
] as const;
type Kind = typeof KINDS[number];

/** The seed of the body of `kind` for `id`. */
function seedOf(kind: Kind, id: number): number {
  return (SEED ^ ((KINDS.indexOf(kind) + 1) << 20) ^ id) >>> 0;
}

/** A size from 4 KiB to 300 KiB, the bounds for the first two seeds. */
function sizeOf(seed: number, id: number): number {
  if (id === 0) return MIN_SIZE;
  if (id === 1) return MAX_SIZE;
  return MIN_SIZE + random(seed ^ 0x9e3779b9)() % (MAX_SIZE - MIN_SIZE + 1);
}

/** The bytes of the module-level array `slot`. */
function sharedBytes(slot: number): Uint8Array<ArrayBuffer> {
  const seed = seedOf("shared", 1000 + slot);
  return fill(seed, sizeOf(seed, slot));
}

/** The bytes that the route of `kind` answers for `id`. */
function expectedBytes(kind: Kind, id: number): Uint8Array<ArrayBuffer> {
  if (kind === "shared" || kind === "shared-web") {
    return sharedBytes(id % SHARED_COUNT);
  }
  const seed = seedOf(kind, id);
  return fill(seed, sizeOf(seed, id));
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Where `actual` first differs from `expected`, for failure messages. */
function firstDifference(actual: Uint8Array, expected: Uint8Array): string {
  const n = Math.min(actual.byteLength, expected.byteLength);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) return `first difference at byte ${i}`;
  }
  return `same first ${n} bytes`;
}

/**
 * The bytes the runtime keeps for a response's body (its inner record,
 * under a private symbol of Deno's `Response`); what the release detaches.
 */
function runtimeCopy(response: globalThis.Response): Uint8Array | undefined {
  const key = Object.getOwnPropertySymbols(response).find((symbol) =>
    symbol.description === "response"
  );
  if (!key) return undefined;
  const inner = (response as unknown as Record<symbol, {
    body?: { streamOrStatic?: { body?: unknown } } | null;
  }>)[key];
  const bytes = inner?.body?.streamOrStatic?.body;
  return bytes instanceof Uint8Array ? bytes : undefined;
}

/** One request and what must come back. */
interface Check {
  label: string;
  path: string;
  headers?: Record<string, string>;
  status: number;
  digest: string;
  length: number;
  /** A streamed body (a clone) may go out chunked, without a length. */
  lengthOptional?: boolean;
  contentRange?: string;
  /** The expected bytes again, only to describe a failure. */
  bytes: () => Uint8Array;
}

/**
 * Bytes kept in memory, to check once everything was sent: the app's own
 * arrays and what middlewares read ("app"), or what they read from a clone
 * of the response that was sent ("clone").
 */
interface Kept {
  label: string;
  group: "app" | "clone";
  bytes: () => Uint8Array | Promise<Uint8Array>;
  expected: () => Uint8Array<ArrayBuffer>;
}

/** Random ranges of a file of `size` bytes (20 000 or more). */
function rangesOf(
  size: number,
  next: () => number,
): { header: string; start: number; end: number }[] {
  const ranges: { start: number; end: number; header?: string }[] = [];
  // A middle range of at most 60 000 bytes: read at once, a byte body.
  const a = next() % Math.floor(size / 2);
  ranges.push({ start: a, end: a + next() % Math.min(60_000, size - a - 1) });
  // A middle range of more than 64 KiB: a stream read in JavaScript.
  if (size > 200_000) {
    const b = next() % Math.floor(size / 4);
    const length = 70_000 + next() % Math.floor(size / 2);
    ranges.push({ start: b, end: Math.min(size - 2, b + length) });
  }
  // To the end, from the middle (the runtime's stream of the file past a
  // seek when over 64 KiB) and from near the end.
  const c = 1 + next() % (size - 1);
  ranges.push({ start: c, end: size - 1, header: `bytes=${c}-` });
  const d = size - 1 - next() % 5000;
  ranges.push({ start: d, end: size - 1, header: `bytes=${d}-` });
  // The last bytes.
  const n = 1 + next() % Math.min(size - 1, 150_000);
  ranges.push({ start: size - n, end: size - 1, header: `bytes=-${n}` });
  return ranges.map(({ start, end, header }) => ({
    header: header ?? `bytes=${start}-${end}`,
    start,
    end,
  }));
}

function shuffle<T>(items: T[], next: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

Deno.test("concurrent served bodies arrive whole while their runtime copies are released", async (t) => {
  const shared = Array.from({ length: SHARED_COUNT }, (_, i) => sharedBytes(i));
  const kept: Kept[] = [];
  const sentPesto: globalThis.Response[] = [];
  const octets = { contentType: "application/octet-stream" };

  const app = new DispatcherApp();
  app.match("/pesto/<id:int>", "GET", (_request, { id }) => {
    const response = new Response(expectedBytes("pesto", id), octets);
    sentPesto.push(response);
    return response;
  });
  app.match(
    "/web/<id:int>",
    "GET",
    (_request, { id }) =>
      new globalThis.Response(expectedBytes("web", id), {
        headers: { "Content-Type": "application/octet-stream" },
      }),
  );
  app.match("/kept/<id:int>", "GET", (_request, { id }) => {
    const bytes = expectedBytes("kept", id);
    kept.push({
      label: `the handler's own array of /kept/${id}`,
      group: "app",
      bytes: () => bytes,
      expected: () => expectedBytes("kept", id),
    });
    return new Response(bytes, octets);
  });
  app.match(
    "/shared/<id:int>",
    "GET",
    (_request, { id }) => new Response(shared[id % SHARED_COUNT], octets),
  );
  app.match(
    "/shared-web/<id:int>",
    "GET",
    (_request, { id }) =>
      new globalThis.Response(shared[id % SHARED_COUNT], {
        headers: { "Content-Type": "application/octet-stream" },
      }),
  );
  // Middlewares inside the app: they read the handler's response before
  // the app schedules the release of what it answers.
  const routeOf = (request: { pathInfo: string }) => {
    const [, kind, id] = request.pathInfo.split("/");
    return { kind: kind as Kind, id: Number(id) };
  };
  const readBody: Decorator = (handler) => async (request, ...args) => {
    const response = await handler(request, ...args);
    const bytes = await response.bytes();
    const { kind, id } = routeOf(request);
    kept.push({
      label: `the bytes a decorator read for ${request.pathInfo}`,
      group: "app",
      bytes: () => bytes,
      expected: () => expectedBytes(kind, id),
    });
    return new Response(bytes, octets);
  };
  const readClone: Decorator = (handler) => async (request, ...args) => {
    const response = await handler(request, ...args);
    const { kind, id } = routeOf(request);
    const clone = response.clone();
    const bytes = kind === "cloned-late" ? undefined : await clone.bytes();
    kept.push({
      label: kind === "cloned-late"
        ? `the bytes of a clone of ${request.pathInfo}, read once it was sent`
        : `the bytes a decorator read from a clone for ${request.pathInfo}`,
      group: "clone",
      bytes: () => bytes ?? clone.bytes(),
      expected: () => expectedBytes(kind, id),
    });
    return response;
  };
  app.match(
    "/read/<id:int>",
    "GET",
    (_request, { id }) => new Response(expectedBytes("read", id), octets),
    { decorators: [readBody] },
  );
  app.match(
    "/cloned/<id:int>",
    "GET",
    (_request, { id }) => new Response(expectedBytes("cloned", id), octets),
    { decorators: [readClone] },
  );
  app.match(
    "/cloned-web/<id:int>",
    "GET",
    (_request, { id }) =>
      new globalThis.Response(expectedBytes("cloned-web", id), {
        headers: { "Content-Type": "application/octet-stream" },
      }),
    { decorators: [readClone] },
  );
  app.match(
    "/cloned-late/<id:int>",
    "GET",
    (_request, { id }) =>
      new Response(expectedBytes("cloned-late", id), octets),
    { decorators: [readClone] },
  );

  const root = await Deno.makeTempDir({ prefix: "pesto_sent_body_stress_" });
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const size of FILE_SIZES) {
    const name = `f${size}.bin`;
    const bytes = fill(SEED ^ 0xf11e ^ size, size);
    files.set(name, bytes);
    await Deno.writeFile(`${root}/${name}`, bytes);
  }
  app.match("/static/<path:path>", "GET", serveStatic(root));
  app.match(
    "/file/<name:unicode>",
    "GET",
    (request, { name }) => serveFile(request, `${root}/${name}`),
  );

  // Middlewares around the app's fetch handler, where the app has already
  // scheduled the release of the response they read (which the server never
  // sends) or of the response they cloned and answer (which it sends).
  const inner = toHandler((request) => {
    const { kind, id } = routeOf(request);
    return new Response(expectedBytes(kind, id), octets);
  });
  const handler = async (
    raw: globalThis.Request,
    info: Deno.ServeHandlerInfo,
  ): Promise<globalThis.Response> => {
    const path = new URL(raw.url).pathname;
    const [, kind, idText] = path.split("/");
    if (kind !== "outer-read" && kind !== "outer-cloned") {
      return await app.fetch(raw, info);
    }
    const id = Number(idText);
    const response = await inner(raw, info);
    const expected = () => expectedBytes(kind, id);
    if (kind === "outer-read") {
      const bytes = await response.bytes();
      kept.push({
        label: `the bytes a middleware read for ${path}`,
        group: "app",
        bytes: () => bytes,
        expected,
      });
      return new Response(bytes, octets);
    }
    const bytes = await response.clone().bytes();
    kept.push({
      label: `the bytes a middleware read from a clone for ${path}`,
      group: "clone",
      bytes: () => bytes,
      expected,
    });
    return response;
  };

  // What to ask and what must come back.
  const checks: Check[] = [];
  for (const kind of KINDS) {
    for (let id = 0; id < IDS; id++) {
      const bytes = expectedBytes(kind, id);
      checks.push({
        label: `${kind} ${id}`,
        path: `/${kind}/${id}`,
        status: 200,
        digest: await sha256(bytes),
        length: bytes.byteLength,
        lengthOptional: kind.includes("cloned"),
        bytes: () => expectedBytes(kind, id),
      });
    }
  }
  const next = random(SEED);
  for (const [name, bytes] of files) {
    const digest = await sha256(bytes);
    for (let i = 0; i < 3; i++) {
      checks.push({
        label: `static ${name}`,
        path: `/static/${name}`,
        status: 200,
        digest,
        length: bytes.byteLength,
        bytes: () => bytes,
      });
    }
    if (bytes.byteLength < 20_000) continue;
    checks.push({
      label: `file ${name}`,
      path: `/file/${name}`,
      status: 200,
      digest,
      length: bytes.byteLength,
      bytes: () => bytes,
    });
    for (const { header, start, end } of rangesOf(bytes.byteLength, next)) {
      const slice = bytes.slice(start, end + 1);
      checks.push({
        label: `file ${name} Range: ${header}`,
        path: `/file/${name}`,
        headers: { Range: header },
        status: 206,
        digest: await sha256(slice),
        length: slice.byteLength,
        contentRange: `bytes ${start}-${end}/${bytes.byteLength}`,
        bytes: () => slice,
      });
    }
  }

  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    handler,
  );
  const client = Deno.createHttpClient({});
  const base = `http://127.0.0.1:${server.addr.port}`;

  /** What is wrong with the answer to `check`, if anything. */
  const problemWith = async (check: Check): Promise<string | undefined> => {
    let response: globalThis.Response;
    let body: Uint8Array<ArrayBuffer>;
    try {
      response = await fetch(base + check.path, {
        headers: check.headers,
        client,
      });
      body = await response.bytes();
    } catch (error) {
      return `${check.label}: ${error}`;
    }
    const problems: string[] = [];
    if (response.status !== check.status) {
      problems.push(`status ${response.status}, not ${check.status}`);
    }
    const length = response.headers.get("content-length");
    if (
      length === null ? !check.lengthOptional : length !== `${check.length}`
    ) {
      problems.push(`Content-Length ${length}, not ${check.length}`);
    }
    const range = response.headers.get("content-range") ?? undefined;
    if (range !== check.contentRange) {
      problems.push(`Content-Range ${range}, not ${check.contentRange}`);
    }
    if (await sha256(body) !== check.digest) {
      problems.push(
        `checksum mismatch: ${body.byteLength} bytes of ${check.length}, ` +
          firstDifference(body, check.bytes()),
      );
    }
    return problems.length
      ? `${check.label}: ${problems.join("; ")}`
      : undefined;
  };

  /** Asks everything, `CONCURRENCY` at once; the problems found. */
  const wave = async (list: Check[]): Promise<string[]> => {
    const problems: string[] = [];
    let i = 0;
    const worker = async () => {
      while (i < list.length) {
        const problem = await problemWith(list[i++]);
        if (problem) problems.push(problem);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return problems;
  };

  const report = (problems: string[], total: number) =>
    `${problems.length} of ${total} wrong:\n` +
    problems.slice(0, 15).join("\n");

  /** The release waits for `completed`, which follows the response's send. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

  try {
    await t.step(
      `${checks.length} requests, ${CONCURRENCY} at once`,
      async () => {
        const problems = await wave(shuffle(checks, next));
        assert.equal(problems.length, 0, report(problems, checks.length));
      },
    );
    await settle();
    await t.step(
      "the same requests again, once the copies were released",
      async () => {
        const problems = await wave(shuffle(checks, next));
        assert.equal(problems.length, 0, report(problems, checks.length));
      },
    );
    await settle();
    /** What is wrong with the bytes of `group` kept in memory. */
    const problemsIn = async (group: Kept["group"]) => {
      const problems: string[] = [];
      for (const { label, group: its, bytes: read, expected } of kept) {
        if (its !== group) continue;
        const bytes = await read();
        const want = expected();
        const whole = bytes.byteLength === want.byteLength &&
          await sha256(bytes.slice()) === await sha256(want);
        if (!whole) {
          problems.push(
            `${label}: ${bytes.byteLength} bytes of ${want.byteLength}, ` +
              firstDifference(bytes, want),
          );
        }
      }
      return problems;
    };
    await t.step(
      "the app's own arrays and the bytes middlewares read are whole",
      async () => {
        // Both waves of /kept, /read and /outer-read.
        assert.equal(kept.filter((k) => k.group === "app").length, 6 * IDS);
        const problems = await problemsIn("app");
        for (const [slot, bytes] of shared.entries()) {
          if (await sha256(bytes) !== await sha256(sharedBytes(slot))) {
            problems.push(`the module-level array ${slot}`);
          }
        }
        const total = 6 * IDS + SHARED_COUNT;
        assert.equal(problems.length, 0, report(problems, total));
      },
    );
    await t.step(
      "the bytes read from a clone of a sent response are whole",
      async () => {
        // Both waves of the three /cloned kinds and /outer-cloned. In Deno
        // 2.9, clone() of a byte body gives the clone the runtime's very
        // array, and the clone's bytes() hands out that array itself.
        assert.equal(kept.filter((k) => k.group === "clone").length, 8 * IDS);
        const problems = await problemsIn("clone");
        assert.equal(problems.length, 0, report(problems, 8 * IDS));
      },
    );
    await t.step(
      "the runtime's copies were released (else this checked nothing)",
      () => {
        assert.equal(sentPesto.length, 2 * IDS);
        const left = sentPesto.filter((response) =>
          runtimeCopy(response)?.byteLength !== 0
        );
        assert.equal(left.length, 0, `${left.length} copies not released`);
      },
    );
  } finally {
    client.close();
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
});
