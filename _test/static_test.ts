import assert from "node:assert/strict";
import {
  DispatcherApp,
  mount,
  Request,
  serveFile,
  serveStatic,
  toHandler,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import { startServer } from "./_raw_http.ts";

const SECRET = "TOPSECRET-outside-the-root";
const BIG_SIZE = 300_000;

/** A temporary tree: base/secret.txt outside, base/root served. */
async function makeTree() {
  const base = await Deno.makeTempDir({ prefix: "pesto_static_" });
  const root = `${base}/root`;
  await Deno.mkdir(`${root}/sub`, { recursive: true });
  await Deno.mkdir(`${root}/.hidden`);
  await Deno.mkdir(`${root}/noindex`);
  await Deno.mkdir(`${base}/outside`);
  const files: Record<string, string> = {
    "hello.txt": "Hello, world!\n",
    "style.css": "body{}",
    "app.js": "export {};",
    "data.json": '{"a":1}',
    "unknown.zzz": "?",
    "noext": "plain",
    "empty.txt": "",
    "café au lait.txt": "unicode name",
    "sub/index.html": "<h1>sub</h1>",
    "sub/page.html": "<p>page</p>",
    "noindex/file.txt": "x",
    ".secret": "dotfile",
    ".hidden/inside.txt": "in a dot dir",
  };
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${root}/${name}`, text);
  }
  const big = new Uint8Array(BIG_SIZE);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
  await Deno.writeFile(`${root}/big.bin`, big);
  await Deno.writeFile(
    `${root}/image.png`,
    new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
  );
  await Deno.writeTextFile(`${base}/secret.txt`, SECRET);
  await Deno.writeTextFile(`${base}/outside/secret.txt`, SECRET);
  await Deno.symlink(`${base}/secret.txt`, `${root}/escape.txt`);
  await Deno.symlink(`${base}/outside`, `${root}/escape-dir`);
  await Deno.symlink(`${root}/hello.txt`, `${root}/alias.txt`);
  await Deno.symlink(`${root}/loop-a`, `${root}/loop-b`);
  await Deno.symlink(`${root}/loop-b`, `${root}/loop-a`);
  await Deno.symlink(`${root}/.secret`, `${root}/to-dotfile.txt`);
  return {
    base,
    root,
    big,
    cleanup: () => Deno.remove(base, { recursive: true }),
  };
}

function routedApp(root: string, options = {}) {
  const app = new DispatcherApp();
  app.match("/static/<path:path>", "GET", serveStatic(root, options));
  return app;
}

Deno.test("serveStatic() serves files with their media type", async (t) => {
  const tree = await makeTree();
  try {
    const client = new TestApp(routedApp(tree.root));
    const cases: [string, number, string | null, string | undefined][] = [
      [
        "/static/hello.txt",
        200,
        "text/plain; charset=UTF-8",
        "Hello, world!\n",
      ],
      ["/static/style.css", 200, "text/css; charset=UTF-8", "body{}"],
      ["/static/app.js", 200, "text/javascript; charset=UTF-8", "export {};"],
      ["/static/data.json", 200, "application/json; charset=UTF-8", '{"a":1}'],
      ["/static/image.png", 200, "image/png", undefined],
      ["/static/unknown.zzz", 200, "application/octet-stream", "?"],
      ["/static/noext", 200, "application/octet-stream", "plain"],
      ["/static/empty.txt", 200, "text/plain; charset=UTF-8", ""],
      [
        "/static/caf%C3%A9%20au%20lait.txt",
        200,
        "text/plain; charset=UTF-8",
        "unicode name",
      ],
      ["/static/sub/page.html", 200, "text/html; charset=UTF-8", "<p>page</p>"],
      ["/static/sub/", 200, "text/html; charset=UTF-8", "<h1>sub</h1>"],
      [
        "/static/alias.txt",
        200,
        "text/plain; charset=UTF-8",
        "Hello, world!\n",
      ],
      ["/static/missing.txt", 404, null, undefined],
      ["/static/hello.txt/", 404, null, undefined],
      ["/static/noindex/", 404, null, undefined],
    ];
    for (const [path, status, type, body] of cases) {
      await t.step(`GET ${path} → ${status}`, async () => {
        const r = await client.get(path);
        assert.equal(r.status, status);
        if (type !== null) assert.equal(r.getHeader("content-type"), type);
        if (body !== undefined) assert.equal(r.text, body);
        if (status === 200) {
          assert.equal(r.getHeader("x-content-type-options"), "nosniff");
          assert.equal(r.getHeader("content-length"), String(r.bytes.length));
        }
      });
    }
  } finally {
    await tree.cleanup();
  }
});

Deno.test("serveStatic() keeps every request inside the root", async (t) => {
  const tree = await makeTree();
  try {
    const client = new TestApp(routedApp(tree.root));
    const cases = [
      "/static/escape.txt", // symlink to a file outside
      "/static/escape-dir/secret.txt", // symlink to a directory outside
      "/static/..%2Fsecret.txt", // %2F decoded inside one segment
      "/static/..%2F..%2F..%2Fetc%2Fpasswd",
      "/static/sub/..%2F..%2Fsecret.txt",
      "/static/..%5Csecret.txt",
      "/static/loop-a", // ELOOP
      "/static/hello.txt/x", // ENOTDIR
      `/static/${"a".repeat(300)}`, // ENAMETOOLONG
      `/static/${"d/".repeat(3000)}x`, // a path too long for the OS
    ];
    for (const path of cases) {
      await t.step(`GET ${path.slice(0, 60)} → 404`, async () => {
        const r = await client.get(path);
        assert.equal(r.status, 404);
        assert.doesNotMatch(r.text, /TOPSECRET/);
      });
    }
  } finally {
    await tree.cleanup();
  }
});

Deno.test("serveStatic() hides dotfiles unless allowed", async (t) => {
  const tree = await makeTree();
  try {
    const paths = [
      "/static/.secret",
      "/static/.hidden/inside.txt",
      "/static/to-dotfile.txt", // a link whose target is a dotfile
    ];
    const hidden = new TestApp(routedApp(tree.root));
    const shown = new TestApp(routedApp(tree.root, { dotfiles: true }));
    for (const path of paths) {
      await t.step(path, async () => {
        assert.equal((await hidden.get(path)).status, 404);
        assert.equal((await shown.get(path)).status, 200);
      });
    }
  } finally {
    await tree.cleanup();
  }
});

Deno.test("serveStatic() serves index.html and redirects directories to a slash", async (t) => {
  const tree = await makeTree();
  try {
    await t.step("routed", async () => {
      const r = await new TestApp(routedApp(tree.root)).get("/static/sub?x=1");
      assert.equal(r.status, 301);
      assert.equal(r.getHeader("location"), "http://localhost/static/sub/?x=1");
    });
    await t.step("mounted, following the redirect", async () => {
      const client = new TestApp(
        { fetch: mount({ "/files": toHandler(serveStatic(tree.root)) }) },
        { followRedirects: true },
      );
      const r = await client.get("/files/sub");
      assert.equal(r.status, 200);
      assert.equal(r.url, "http://localhost/files/sub/");
      assert.equal(r.text, "<h1>sub</h1>");
      assert.equal(
        (await client.get("/files/hello.txt")).text,
        "Hello, world!\n",
      );
    });
    await t.step("redirectDirectories: false", async () => {
      const client = new TestApp(
        routedApp(tree.root, { redirectDirectories: false }),
      );
      assert.equal((await client.get("/static/sub")).status, 404);
    });
    await t.step("index: false", async () => {
      const client = new TestApp(routedApp(tree.root, { index: false }));
      assert.equal((await client.get("/static/sub/")).status, 404);
    });
    await t.step("a custom index name", async () => {
      const client = new TestApp(routedApp(tree.root, { index: "page.html" }));
      assert.equal((await client.get("/static/sub/")).text, "<p>page</p>");
    });
  } finally {
    await tree.cleanup();
  }
});

Deno.test("serveStatic() answers conditional requests with 304 and 412", async (t) => {
  const tree = await makeTree();
  try {
    const client = new TestApp(routedApp(tree.root));
    const first = await client.get("/static/hello.txt");
    const etag = first.getHeader("etag")!;
    const lastModified = first.getHeader("last-modified")!;
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.match(lastModified, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
    const cases: [string, Record<string, string>, number][] = [
      ["If-None-Match current", { "If-None-Match": etag }, 304],
      ["If-None-Match stale", { "If-None-Match": '"0-0"' }, 200],
      ["If-Modified-Since current", { "If-Modified-Since": lastModified }, 304],
      ["If-Modified-Since long ago", {
        "If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT",
      }, 200],
      ["If-Match stale", { "If-Match": '"0-0"' }, 412],
      ["If-Match current", { "If-Match": etag }, 200],
      ["If-Unmodified-Since long ago", {
        "If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT",
      }, 412],
    ];
    for (const [name, headers, status] of cases) {
      await t.step(`${name} → ${status}`, async () => {
        const r = await client.get("/static/hello.txt", { headers });
        assert.equal(r.status, status);
        if (status === 304) {
          assert.equal(r.getHeader("content-type"), undefined);
          assert.equal(r.getHeader("content-length"), undefined);
          assert.equal(r.getHeader("etag"), etag);
          assert.equal(r.text, "");
        }
      });
    }
    await t.step("the ETag changes with the file", async () => {
      await Deno.writeTextFile(
        `${tree.root}/hello.txt`,
        "Changed, and longer\n",
      );
      const r = await client.get("/static/hello.txt", {
        headers: { "If-None-Match": etag },
      });
      assert.equal(r.status, 200);
      assert.notEqual(r.getHeader("etag"), etag);
    });
  } finally {
    await tree.cleanup();
  }
});

Deno.test("serveStatic() answers single ranges with 206 and bad ones with 416", async (t) => {
  const tree = await makeTree();
  try {
    const client = new TestApp(routedApp(tree.root));
    const { etag, lastModified } = await (async () => {
      const r = await client.head("/static/hello.txt");
      return {
        etag: r.getHeader("etag")!,
        lastModified: r.getHeader("last-modified")!,
      };
    })();
    const size = "Hello, world!\n".length;
    const cases: [
      string,
      Record<string, string>,
      number,
      string | null,
      string | null,
    ][] = [
      [
        "first bytes",
        { Range: "bytes=0-4" },
        206,
        `bytes 0-4/${size}`,
        "Hello",
      ],
      [
        "a suffix",
        { Range: "bytes=-7" },
        206,
        `bytes 7-13/${size}`,
        "world!\n",
      ],
      [
        "an open end",
        { Range: "bytes=7-" },
        206,
        `bytes 7-13/${size}`,
        "world!\n",
      ],
      [
        "an end past the size",
        { Range: "bytes=12-99" },
        206,
        `bytes 12-13/${size}`,
        "!\n",
      ],
      [
        "overlapping ranges merged",
        { Range: "bytes=0-2,1-4" },
        206,
        `bytes 0-4/${size}`,
        "Hello",
      ],
      [
        "two ranges: multipart/byteranges (its parts tested below)",
        { Range: "bytes=0-1,5-6" },
        206,
        null,
        null,
      ],
      ["past the end", { Range: "bytes=50-" }, 416, `bytes */${size}`, ""],
      [
        "malformed: ignored",
        { Range: "bytes=abc" },
        200,
        null,
        "Hello, world!\n",
      ],
      [
        "another unit: ignored",
        { Range: "items=0-1" },
        200,
        null,
        "Hello, world!\n",
      ],
      [
        "If-Range with the current ETag",
        { Range: "bytes=0-4", "If-Range": etag },
        206,
        `bytes 0-4/${size}`,
        "Hello",
      ],
      [
        "If-Range with a stale ETag",
        { Range: "bytes=0-4", "If-Range": '"0-0"' },
        200,
        null,
        "Hello, world!\n",
      ],
      [
        "If-Range with a weak ETag",
        { Range: "bytes=0-4", "If-Range": `W/${etag}` },
        200,
        null,
        "Hello, world!\n",
      ],
      [
        "If-Range with the date",
        { Range: "bytes=0-4", "If-Range": lastModified },
        206,
        `bytes 0-4/${size}`,
        "Hello",
      ],
      [
        "If-Range with another date",
        { Range: "bytes=0-4", "If-Range": "Sun, 06 Nov 1994 08:49:37 GMT" },
        200,
        null,
        "Hello, world!\n",
      ],
    ];
    for (const [name, headers, status, contentRange, body] of cases) {
      await t.step(`${name} → ${status}`, async () => {
        const r = await client.get("/static/hello.txt", { headers });
        assert.equal(r.status, status);
        assert.equal(r.getHeader("content-range") ?? null, contentRange);
        if (body !== null) assert.equal(r.text, body);
        assert.equal(r.getHeader("accept-ranges"), "bytes");
        if (status !== 416) {
          assert.equal(r.getHeader("content-length"), String(r.bytes.length));
        }
      });
    }
    await t.step("a range in the middle of a big file", async () => {
      const r = await client.get("/static/big.bin", {
        headers: { Range: "bytes=100000-200001" },
      });
      assert.equal(r.status, 206);
      assert.deepEqual(r.bytes, tree.big.subarray(100000, 200002));
    });
  } finally {
    await tree.cleanup();
  }
});

/** Each range, `[first, last]` byte included, or a status without ranges. */
type RangeCase = [string, 200 | 416 | [number, number][]];

/**
 * The body expected for `ranges` of `content`: the bytes of one range, or
 * a `multipart/byteranges` body with `boundary`, byte for byte.
 */
function expectedRanges(
  content: Uint8Array,
  ranges: [number, number][],
  type: string,
  boundary: string,
): Uint8Array {
  if (ranges.length === 1) {
    return content.subarray(ranges[0][0], ranges[0][1] + 1);
  }
  const pieces: Uint8Array[] = [];
  ranges.forEach(([first, last], i) => {
    pieces.push(new TextEncoder().encode(
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${type}\r\n` +
        `Content-Range: bytes ${first}-${last}/${content.length}\r\n\r\n`,
    ));
    pieces.push(content.subarray(first, last + 1));
  });
  pieces.push(new TextEncoder().encode(`\r\n--${boundary}--\r\n`));
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/**
 * Checks the answer of `serveFile` to `Range: header` for `content` (served
 * as `type`): the status, `Content-Range`, `Content-Type`, `Content-Length`
 * and the body, byte for byte.
 */
async function checkRange(
  path: string,
  content: Uint8Array,
  type: string,
  [header, want]: RangeCase,
  options: { chunkSize?: number } = {},
): Promise<void> {
  const raw = new globalThis.Request("http://x.test/", {
    headers: { Range: header },
  });
  const r = await serveFile(new Request(raw), path, options);
  const body = new Uint8Array(await r.arrayBuffer());
  const size = content.length;
  if (want === 200) {
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-range"), null);
    assert.deepEqual(body, content);
    return;
  }
  if (want === 416) {
    assert.equal(r.status, 416);
    assert.equal(r.headers.get("content-range"), `bytes */${size}`);
    assert.equal(body.length, 0);
    return;
  }
  assert.equal(r.status, 206);
  let boundary = "";
  if (want.length === 1) {
    assert.equal(r.headers.get("content-type"), type);
    assert.equal(
      r.headers.get("content-range"),
      `bytes ${want[0][0]}-${want[0][1]}/${size}`,
    );
  } else {
    const match = /^multipart\/byteranges; boundary=([0-9a-f]{32})$/.exec(
      r.headers.get("content-type") ?? "",
    );
    assert.ok(match, r.headers.get("content-type") ?? "no Content-Type");
    boundary = match[1];
    assert.equal(r.headers.get("content-range"), null);
  }
  assert.equal(r.headers.get("content-length"), String(body.length));
  assert.deepEqual(body, expectedRanges(content, want, type, boundary));
}

Deno.test("serveFile() answers several ranges with the satisfiable ones, 416 only when none is", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "pesto_ranges_" });
  const type = "text/plain; charset=UTF-8";
  try {
    // The mixed cases range-parser reports with code 2 (some ranges
    // unsatisfiable) on a 10-byte file.
    const ten = new TextEncoder().encode("0123456789");
    await Deno.writeFile(`${dir}/ten.txt`, ten);
    const mixed: RangeCase[] = [
      ["bytes=0-0,9999-10000", [[0, 0]]],
      ["bytes=9999-10000,0-0", [[0, 0]]],
      ["bytes=20-30,40-50", 416],
      ["bytes=10-,-0", 416],
      ["bytes=0-1,20-", [[0, 1]]],
      ["bytes=-0,2-3", [[2, 3]]],
      ["bytes=0-1,5-6", [[0, 1], [5, 6]]],
      ["bytes=0-1,5-6,10-12", [[0, 1], [5, 6]]],
      ["bytes=8-9,0-1", [[8, 9], [0, 1]]],
      ["bytes=5-6,-2", [[5, 6], [8, 9]]],
      ["bytes=-3", [[7, 9]]],
      ["bytes=-20", [[0, 9]]],
      ["bytes=-0", 416],
      ["bytes= 0-1 ,\t5-6", [[0, 1], [5, 6]]],
      ["bytes=0-1,1-2", [[0, 2]]],
      ["bytes=0-1,2-3", [[0, 3]]],
      ["bytes=0-1,4-5,2-3", [[0, 5]]],
      ["bytes=0-1,x-2", 200],
      ["bytes=3-1,5-6", 200],
      ["bytes=0-,0-", 200],
      ["items=0-1,20-30", 200],
    ];
    for (const c of mixed) {
      await t.step(`10 bytes, ${JSON.stringify(c[0])}`, async () => {
        await checkRange(`${dir}/ten.txt`, ten, type, c);
        // Read in chunks of 3 bytes: streamed, and the same bytes.
        await checkRange(`${dir}/ten.txt`, ten, type, c, { chunkSize: 3 });
      });
    }
    // Go's net/http ServeFileRangeTests, on its 11-byte testdata/file.
    const eleven = new TextEncoder().encode("0123456789\n");
    await Deno.writeFile(`${dir}/file`, eleven);
    const go: RangeCase[] = [
      ["bytes=0-4", [[0, 4]]],
      ["bytes=2-", [[2, 10]]],
      ["bytes=-5", [[6, 10]]],
      ["bytes=3-7", [[3, 7]]],
      ["bytes=0-0,-2", [[0, 0], [9, 10]]],
      ["bytes=0-1,5-8", [[0, 1], [5, 8]]],
      ["bytes=0-1,5-", [[0, 1], [5, 10]]],
      ["bytes=5-1000", [[5, 10]]],
      ["bytes=0-,1-,2-,3-,4-", 200],
      ["bytes=0-9", [[0, 9]]],
      ["bytes=0-10", [[0, 10]]],
      ["bytes=0-11", [[0, 10]]],
      ["bytes=10-11", [[10, 10]]],
      ["bytes=10-", [[10, 10]]],
      ["bytes=11-", 416],
      ["bytes=11-12", 416],
      ["bytes=12-12", 416],
      ["bytes=11-100", 416],
      ["bytes=12-100", 416],
      ["bytes=100-", 416],
      ["bytes=100-1000", 416],
    ];
    for (const c of go) {
      await t.step(`Go's table, ${JSON.stringify(c[0])}`, async () => {
        await checkRange(`${dir}/file`, eleven, "application/octet-stream", c);
      });
    }
    const big = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    await Deno.writeFile(`${dir}/big.bin`, big);
    await t.step("ranges of a big file, streamed", async () => {
      await checkRange(`${dir}/big.bin`, big, "application/octet-stream", [
        "bytes=250000-,0-99999,-5",
        [[250000, 299999], [0, 99999]],
      ]);
    });
    const ranges = (n: number) =>
      Array.from({ length: n }, (_, i) => `${i * 10}-${i * 10}`).join(",");
    await t.step("100 ranges are served, 101 ignored", async () => {
      await checkRange(`${dir}/big.bin`, big, "application/octet-stream", [
        `bytes=${ranges(100)}`,
        Array.from({ length: 100 }, (_, i) => [i * 10, i * 10]),
      ]);
      await checkRange(`${dir}/big.bin`, big, "application/octet-stream", [
        `bytes=${ranges(101)}`,
        200,
      ]);
    });
    await t.step(
      "HEAD with several ranges: their length, no body",
      async () => {
        const raw = new globalThis.Request("http://x.test/", {
          method: "HEAD",
          headers: { Range: "bytes=0-1,5-6" },
        });
        const r = await serveFile(new Request(raw), `${dir}/ten.txt`);
        assert.equal(r.status, 206);
        const boundary = r.headers.get("content-type")!.split("=")[1];
        const body = expectedRanges(ten, [[0, 1], [5, 6]], type, boundary);
        assert.equal(r.headers.get("content-length"), String(body.length));
        assert.equal(r.body, null);
      },
    );
    await t.step("a stale If-Range sends the whole file", async () => {
      const raw = new globalThis.Request("http://x.test/", {
        headers: { Range: "bytes=0-0,9999-10000", "If-Range": '"0-0"' },
      });
      const r = await serveFile(new Request(raw), `${dir}/ten.txt`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), "0123456789");
    });
    await t.step(
      "over real HTTP, a multipart answer arrives whole",
      async () => {
        const app = new DispatcherApp();
        app.match(
          "/f",
          "GET",
          (request) => serveFile(request, `${dir}/big.bin`),
        );
        const server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen() {} },
          app.fetch,
        );
        try {
          const r = await fetch(`http://127.0.0.1:${server.addr.port}/f`, {
            headers: { Range: "bytes=0-0,9999-10000,299999-" },
          });
          assert.equal(r.status, 206);
          const boundary = r.headers.get("content-type")!.split("=")[1];
          const body = new Uint8Array(await r.arrayBuffer());
          assert.deepEqual(
            body,
            expectedRanges(
              big,
              [[0, 0], [9999, 10000], [299999, 299999]],
              "application/octet-stream",
              boundary,
            ),
          );
        } finally {
          await server.shutdown();
        }
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveStatic() answers HEAD without a body and other methods with 405", async () => {
  const tree = await makeTree();
  try {
    const client = new TestApp(serveStatic(tree.root));
    const head = await client.head("/big.bin");
    assert.equal(head.status, 200);
    assert.equal(head.getHeader("content-length"), String(BIG_SIZE));
    assert.equal(head.bytes.length, 0);
    for (const method of ["POST", "PUT", "DELETE"]) {
      const r = await client.request(method, "/hello.txt");
      assert.equal(r.status, 405, method);
      assert.equal(r.getHeader("allow"), "GET, HEAD");
    }
  } finally {
    await tree.cleanup();
  }
});

Deno.test("serveStatic() streams files in chunks and closes them", async (t) => {
  const tree = await makeTree();
  try {
    const handler = toHandler(serveStatic(tree.root, { chunkSize: 4096 }));
    await t.step("the whole file arrives in many chunks", async () => {
      const r = await handler(new globalThis.Request("http://x.test/big.bin"));
      let chunks = 0;
      const parts: Uint8Array[] = [];
      for await (const chunk of r.body!) {
        chunks++;
        assert.ok(chunk.length <= 4096);
        parts.push(chunk);
      }
      assert.ok(chunks >= BIG_SIZE / 4096, String(chunks));
      const all = new Uint8Array(
        await new Blob(parts as BlobPart[]).arrayBuffer(),
      );
      assert.deepEqual(all, tree.big);
    });
    await t.step("a cancelled download closes the file", async () => {
      // The test's resource sanitizer fails if the file stays open.
      const r = await handler(new globalThis.Request("http://x.test/big.bin"));
      const reader = r.body!.getReader();
      await reader.read();
      await reader.cancel();
    });
  } finally {
    await tree.cleanup();
  }
});

Deno.test("serveStatic() sends a file to its end as the runtime's stream of it", async (t) => {
  const tree = await makeTree();
  const app = new DispatcherApp();
  app.match("/s/<path:path>", "GET", serveStatic(tree.root));
  const server = startServer(app.fetch);
  const get = (headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${server.port}/s/big.bin`, { headers });
  try {
    await t.step("served whole, with its length", async () => {
      const r = await get();
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-length"), String(BIG_SIZE));
      assert.deepEqual(new Uint8Array(await r.arrayBuffer()), tree.big);
    });
    await t.step("a range to the end: 206 with the tail", async () => {
      const r = await get({ Range: "bytes=100000-" });
      assert.equal(r.status, 206);
      assert.equal(
        r.headers.get("content-range"),
        `bytes 100000-${BIG_SIZE - 1}/${BIG_SIZE}`,
      );
      assert.deepEqual(
        new Uint8Array(await r.arrayBuffer()),
        tree.big.subarray(100_000),
      );
    });
    await t.step("a range in the middle: 206 with just that part", async () => {
      const r = await get({ Range: "bytes=70000-169999" });
      assert.equal(r.status, 206);
      assert.deepEqual(
        new Uint8Array(await r.arrayBuffer()),
        tree.big.subarray(70_000, 170_000),
      );
    });
    await t.step("ten at once, each whole", async () => {
      const bodies = await Promise.all(
        Array.from(
          { length: 10 },
          async () => new Uint8Array(await (await get()).arrayBuffer()),
        ),
      );
      for (const body of bodies) assert.deepEqual(body, tree.big);
    });
    await t.step(
      "in-process, a range in the middle holds just that part",
      async () => {
        const handler = toHandler(serveStatic(tree.root));
        const r = await handler(
          new globalThis.Request("http://x.test/big.bin", {
            headers: { Range: "bytes=70000-169999" },
          }),
        );
        assert.equal(r.status, 206);
        assert.deepEqual(
          new Uint8Array(await r.arrayBuffer()),
          tree.big.subarray(70_000, 170_000),
        );
      },
    );
    await t.step(
      "read in-process, then cancelled: the file is closed",
      async () => {
        // The test's resource sanitizer fails if the file stays open.
        const handler = toHandler(serveStatic(tree.root));
        const r = await handler(
          new globalThis.Request("http://x.test/big.bin"),
        );
        const reader = r.body!.getReader();
        const first = await reader.read();
        assert.deepEqual(
          first.value,
          tree.big.subarray(0, first.value!.length),
        );
        await reader.cancel();
      },
    );
  } finally {
    await server.close();
    await tree.cleanup();
  }
});

Deno.test("serveStatic() rejects a missing root or a file as root", async () => {
  const tree = await makeTree();
  try {
    assert.throws(() => serveStatic(`${tree.base}/nope`), Deno.errors.NotFound);
    assert.throws(() => serveStatic(`${tree.root}/hello.txt`), TypeError);
    assert.throws(
      () => serveStatic(tree.root, { index: "../x.html" }),
      TypeError,
    );
  } finally {
    await tree.cleanup();
  }
});

Deno.test("serveFile() serves one file with options", async (t) => {
  const tree = await makeTree();
  try {
    const request = (headers: Record<string, string> = {}, method = "GET") =>
      new Request(
        new globalThis.Request("http://x.test/", { headers, method }),
      );
    await t.step("contentType and cacheControl", async () => {
      const r = await serveFile(request(), `${tree.root}/noext`, {
        contentType: "text/markdown; charset=UTF-8",
        cacheControl: "public, max-age=60",
      });
      assert.equal(
        r.headers.get("content-type"),
        "text/markdown; charset=UTF-8",
      );
      assert.equal(r.headers.get("cache-control"), "public, max-age=60");
      assert.equal(await r.text(), "plain");
    });
    await t.step("charset: false", async () => {
      const r = await serveFile(request(), `${tree.root}/hello.txt`, {
        charset: false,
      });
      assert.equal(r.headers.get("content-type"), "text/plain");
      await r.body?.cancel();
    });
    await t.step("etag and lastModified off", async () => {
      const r = await serveFile(
        request({ "If-None-Match": "*" }),
        `${tree.root}/hello.txt`,
        {
          etag: false,
          lastModified: false,
        },
      );
      assert.equal(r.status, 304); // "*" matches any current file
      const plain = await serveFile(request(), `${tree.root}/hello.txt`, {
        etag: false,
        lastModified: false,
      });
      assert.equal(plain.headers.get("etag"), null);
      assert.equal(plain.headers.get("last-modified"), null);
      await plain.body?.cancel();
    });
    await t.step("ranges: false ignores Range", async () => {
      const r = await serveFile(
        request({ Range: "bytes=0-1" }),
        `${tree.root}/hello.txt`,
        {
          ranges: false,
        },
      );
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("accept-ranges"), "none");
      await r.body?.cancel();
    });
    await t.step("a missing file or a directory is 404", async () => {
      assert.equal(
        (await serveFile(request(), `${tree.root}/nope`)).status,
        404,
      );
      assert.equal(
        (await serveFile(request(), `${tree.root}/sub`)).status,
        404,
      );
    });
    await t.step("POST is 405", async () => {
      const r = await serveFile(request({}, "POST"), `${tree.root}/hello.txt`);
      assert.equal(r.status, 405);
    });
  } finally {
    await tree.cleanup();
  }
});

/** Sends raw bytes to a server and returns its status line and body. */
async function rawRequest(
  port: number,
  target: string,
): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      ),
    );
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buffer = new Uint8Array(16384);
    // The server closes the connection after one answer; stop at 1 MB anyway.
    while (total < 1_000_000) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      total += n;
    }
    const text = new TextDecoder().decode(
      new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer()),
    );
    return { status: Number(text.split(" ")[1]), text };
  } finally {
    conn.close();
  }
}

Deno.test("serveStatic() over real HTTP never serves outside the root", async (t) => {
  const tree = await makeTree();
  const errors: unknown[] = [];
  const app = new DispatcherApp({ onError: (e) => errors.push(e) });
  app.match("/static/<path:path>", "GET", serveStatic(tree.root));
  const mounted = mount({ "/m": toHandler(serveStatic(tree.root)), "/": app });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    mounted,
  );
  try {
    const port = server.addr.port;
    const targets = [
      "/static/../secret.txt",
      "/static/../../../../etc/passwd",
      "/static/%2e%2e/secret.txt",
      "/static/%2e%2e%2fsecret.txt",
      "/static/..%2fsecret.txt",
      "/static/..%2F..%2F..%2Fetc%2Fpasswd",
      "/static/..%5csecret.txt",
      "/static/..\\secret.txt",
      "/static/%2e%2e%5csecret.txt",
      "/static/sub/..%2f..%2fsecret.txt",
      "/static/escape.txt",
      "/static/escape-dir/secret.txt",
      "/static/%00",
      "/static/hello.txt%00.png",
      "/static/%ff%fe",
      "/static/%zz",
      "/static/.secret",
      "/m/..%2fsecret.txt",
      "/m/escape.txt",
      "/m/%2e%2e/%2e%2e/etc/passwd",
      "//static/..%2f..%2fsecret.txt",
    ];
    for (const target of targets) {
      await t.step(target, async () => {
        const { status, text } = await rawRequest(port, target);
        assert.ok([400, 404].includes(status), `${target} → ${status}`);
        assert.doesNotMatch(text, /TOPSECRET|root:x:0/);
      });
    }
    await t.step("a normal file still works over the same server", async () => {
      const { status, text } = await rawRequest(port, "/m/hello.txt");
      assert.equal(status, 200);
      assert.match(text, /Hello, world!/);
    });
    await t.step(
      "HEAD over HTTP keeps Content-Length and sends no body",
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/m/big.bin`, {
          method: "HEAD",
        });
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("content-length"), String(BIG_SIZE));
        assert.equal((await r.arrayBuffer()).byteLength, 0);
      },
    );
    assert.deepEqual(errors, []);
  } finally {
    await server.shutdown();
    await tree.cleanup();
  }
});
