import assert from "node:assert/strict";
import {
  DispatcherApp,
  FileUpload,
  PayloadTooLarge,
  Request,
  type RequestLimits,
  RequestParseError,
  RequestTimeout,
  Response,
  toHandler,
} from "@pesto/pesto";
import {
  multipartBody,
  type RawPart,
  rawRequest,
  startServer,
} from "./_raw_http.ts";
import { startPortServer } from "./_process.ts";

const BOUNDARY = "XyZ-boundary-42";
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
const encoder = new TextEncoder();
const copyOf = (text: string) => encoder.encode(text);

/** A web request whose body arrives in chunks of `chunkSize` bytes. */
function post(
  body: Uint8Array | string,
  options: {
    chunkSize?: number;
    type?: string;
    length?: boolean;
    path?: string;
  } = {},
): globalThis.Request {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const size = options.chunkSize ?? 65536;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.byteLength; i += size) {
        controller.enqueue(bytes.slice(i, i + size));
      }
      controller.close();
    },
  });
  const headers: Record<string, string> = {
    "content-type": options.type ?? TYPE,
  };
  if (options.length) headers["content-length"] = String(bytes.byteLength);
  return new globalThis.Request(`http://x.test${options.path ?? "/upload"}`, {
    method: "POST",
    body: stream,
    headers,
  });
}

async function formOf(
  raw: globalThis.Request,
  limits?: RequestLimits,
): Promise<[string, string | { filename: string; text: string }][]> {
  const form = await new Request(raw, { limits }).form();
  const out: [string, string | { filename: string; text: string }][] = [];
  for (const [key, value] of form) {
    out.push([
      key,
      typeof value === "string"
        ? value
        : { filename: value.filename, text: await value.text() },
    ]);
  }
  return out;
}

// Content that comes close to the delimiter without being one.
const TRICKY = `a\r\n--XyZ-boundary-4\r\n-\r\n--XyZ\r--XyZ-boundary-43x\r\n`;
const SAMPLE = multipartBody(BOUNDARY, [
  { name: "title", content: "Caffè latte" },
  { name: "tag", content: "" },
  { name: "tag", content: "hot" },
  {
    name: "doc",
    filename: "C:\\Users\\ada\\recipe.txt",
    contentType: "text/plain",
    content: TRICKY,
  },
  { name: "note", content: TRICKY },
]);
const EXPECTED = [
  ["title", "Caffè latte"],
  ["tag", ""],
  ["tag", "hot"],
  ["doc", { filename: "recipe.txt", text: TRICKY }],
  ["note", TRICKY],
];

Deno.test("Request.form() reads multipart fields and files in order", async () => {
  assert.deepEqual(await formOf(post(SAMPLE)), EXPECTED);
});

Deno.test("Request.form() parses multipart the same however the body is split", async (t) => {
  for (const chunkSize of [1, 2, 3, 5, 7, 16, 17, 31, 64, 100, 1000]) {
    await t.step(`chunks of ${chunkSize} bytes`, async () => {
      assert.deepEqual(await formOf(post(SAMPLE, { chunkSize })), EXPECTED);
    });
  }
});

Deno.test("Request.form() keeps multipart files past the memory threshold intact", async (t) => {
  const content = new Uint8Array(300_000);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7919) % 256;
  const body = multipartBody(BOUNDARY, [
    { name: "big", filename: "big.bin", content },
    { name: "after", content: "tail" },
  ]);
  for (const chunkSize of [4096, 65536, 1 << 20]) {
    await t.step(`chunks of ${chunkSize} bytes`, async () => {
      const form = await new Request(post(body, { chunkSize }), {
        limits: { maxFileMemorySize: 1024 },
      }).form();
      const big = form.get("big") as FileUpload;
      assert.equal(big.size, content.length);
      assert.deepEqual(await big.bytes(), content);
      const streamed = new Uint8Array(
        await new Response(big.stream()).arrayBuffer(),
      );
      assert.deepEqual(streamed, content);
      assert.equal(form.get("after"), "tail");
    });
  }
});

Deno.test("Request.form() accepts a multipart preamble, epilogue and padding", async () => {
  const body = `preamble text\r\n--${BOUNDARY}  \t\r\n` +
    `Content-Disposition: form-data; name="a"\r\n\r\n1\r\n--${BOUNDARY}--\r\nepilogue`;
  assert.deepEqual(await formOf(post(body)), [["a", "1"]]);
  assert.deepEqual(await formOf(post(`--${BOUNDARY}--`)), []);
});

Deno.test("Request.form() reads multipart names, file names and charsets", async (t) => {
  const cases: [string, string, [string, unknown][]][] = [
    [
      "a quoted boundary parameter",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--${BOUNDARY}--`,
      [["a", "x"]],
    ],
    [
      "%22 in a name is a quote",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="say %22hi%22"\r\n\r\nx\r\n--${BOUNDARY}--`,
      [['say "hi"', "x"]],
    ],
    [
      "a UTF-8 name and file name",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="café"; filename="crème.txt"\r\n\r\nx\r\n--${BOUNDARY}--`,
      [["café", { filename: "crème.txt", text: "x" }]],
    ],
    [
      "filename* wins over filename",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="plain.txt"; filename*=UTF-8''%E2%82%AC.txt\r\n\r\nx\r\n--${BOUNDARY}--`,
      [["f", { filename: "€.txt", text: "x" }]],
    ],
    [
      "an empty file name is still a file",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--${BOUNDARY}--`,
      [["f", { filename: "", text: "" }]],
    ],
    [
      "header names in any case",
      `--${BOUNDARY}\r\ncontent-DISPOSITION: Form-Data; NAME="a"\r\n\r\nx\r\n--${BOUNDARY}--`,
      [["a", "x"]],
    ],
  ];
  for (const [name, body, expected] of cases) {
    await t.step(name, async () => {
      const type = name.startsWith("a quoted")
        ? `multipart/form-data; boundary="${BOUNDARY}"`
        : TYPE;
      assert.deepEqual(await formOf(post(body, { type })), expected);
    });
  }
  await t.step("a part's own charset decodes it", async () => {
    const body = new Uint8Array([
      ...encoder.encode(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n\r\ncaf`,
      ),
      0xe9,
      ...encoder.encode(`\r\n--${BOUNDARY}--`),
    ]);
    assert.deepEqual(await formOf(post(body)), [["a", "café"]]);
  });
  await t.step("the request charset decodes parts without one", async () => {
    const body = new Uint8Array([
      ...encoder.encode(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n`,
      ),
      0xe9,
      ...encoder.encode(`\r\n--${BOUNDARY}--`),
    ]);
    const request = new Request(post(body));
    request.charset = "ISO-8859-1";
    assert.equal((await request.form()).get("a"), "é");
  });
  await t.step("invalid UTF-8 in a field becomes U+FFFD", async () => {
    const body = new Uint8Array([
      ...encoder.encode(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n`,
      ),
      0xff,
      ...encoder.encode(`\r\n--${BOUNDARY}--`),
    ]);
    assert.deepEqual(await formOf(post(body)), [["a", "\uFFFD"]]);
  });
});

/** What `formOf` gives, for the tables below. */
type FormEntry = [string, string | { filename: string; text: string }];

/** Checks `body` (with `boundary`) gives `expected`, however it is split. */
async function checkForm(
  body: string | Uint8Array,
  boundary: string,
  expected: FormEntry[],
): Promise<void> {
  const type = `multipart/form-data; boundary=${boundary}`;
  for (const chunkSize of [1, 2, 3, 5, 7, 13, 64, 65536]) {
    assert.deepEqual(
      await formOf(post(body, { type, chunkSize })),
      expected,
      `chunks of ${chunkSize} bytes`,
    );
  }
}

Deno.test("Request.form() accepts a part without a body, in the shapes busboy and Werkzeug send", async (t) => {
  const cases: [string, string, string, FormEntry[]][] = [
    [
      // Werkzeug's tests/sansio/test_multipart.py test_empty_field: its
      // encoder writes an empty part as its headers, then the delimiter.
      "Werkzeug's empty field: the delimiter right after the headers",
      "foo",
      '\r\n--foo\r\nContent-Disposition: form-data; name="text"\r\n' +
      'Content-Type: text/plain; charset="UTF-8"\r\n\r\nSome Text\r\n' +
      '--foo\r\nContent-Disposition: form-data; name="empty"\r\n' +
      'Content-Type: text/plain; charset="UTF-8"\r\n\r\n--foo--\r\n    ',
      [["text", "Some Text"], ["empty", ""]],
    ],
    [
      // busboy's test/test-types-multipart.js "Empty part".
      "busboy's empty part: a blank line, then the delimiter",
      "d1bf46b3-aa33-4061-b28d-6c5ced8b08ee",
      "\r\n--d1bf46b3-aa33-4061-b28d-6c5ced8b08ee\r\n" +
      "Content-Type: application/gzip\r\nContent-Encoding: gzip\r\n" +
      "Content-Disposition: form-data; name=batch-1; filename=batch-1" +
      "\r\n\r\n\r\n--d1bf46b3-aa33-4061-b28d-6c5ced8b08ee--",
      [["batch-1", { filename: "batch-1", text: "" }]],
    ],
    [
      "an empty field, then more parts",
      BOUNDARY,
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="b"\r\n\r\n` +
      `\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="c"\r\n\r\n` +
      `3\r\n--${BOUNDARY}--`,
      [["a", ""], ["b", ""], ["c", "3"]],
    ],
    [
      "an empty file, then a field",
      BOUNDARY,
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; ` +
      `filename="empty.txt"\r\nContent-Type: text/plain\r\n\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="after"\r\n` +
      `\r\nx\r\n--${BOUNDARY}--\r\n`,
      [["f", { filename: "empty.txt", text: "" }], ["after", "x"]],
    ],
    [
      "content that starts like the boundary is content",
      BOUNDARY,
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n` +
      `--XyZ-boundary-4x\r\n--${BOUNDARY}\r\n` +
      `Content-Disposition: form-data; name="b"\r\n\r\n` +
      `--XyZ-boundary-4\r\n--${BOUNDARY}--`,
      [["a", "--XyZ-boundary-4x"], ["b", "--XyZ-boundary-4"]],
    ],
  ];
  for (const [name, boundary, body, expected] of cases) {
    await t.step(name, () => checkForm(body, boundary, expected));
  }
  await t.step("the empty file keeps its part's headers", async () => {
    const body = cases[1][2];
    const type = `multipart/form-data; boundary=${cases[1][1]}`;
    const file = (await new Request(post(body, { type })).files())
      .get("batch-1");
    assert.ok(file instanceof FileUpload);
    assert.equal(file.size, 0);
    assert.equal(file.contentType, "application/gzip");
    assert.equal(file.headers.get("content-encoding"), "gzip");
  });
});

Deno.test("Request.form() unfolds folded part headers, joined with one space", async (t) => {
  const head = `--${BOUNDARY}\r\n`;
  const end = `\r\n--${BOUNDARY}--\r\n`;
  await t.step("the file name on a continuation line", async () => {
    const body = `${head}Content-Disposition: form-data; name="upload";\r\n` +
      ` filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\nhello${end}`;
    await checkForm(body, BOUNDARY, [
      ["upload", { filename: "notes.txt", text: "hello" }],
    ]);
    const file = (await new Request(post(body)).files()).get("upload");
    assert.equal(
      file?.headers.get("content-disposition"),
      'form-data; name="upload"; filename="notes.txt"',
    );
  });
  await t.step("tabs and several continuation lines", async () => {
    const body = `${head}Content-Disposition: form-data;  \r\n\tname="a";` +
      `\r\n \t filename="b.txt"\r\n\r\nB${end}`;
    await checkForm(body, BOUNDARY, [["a", { filename: "b.txt", text: "B" }]]);
    const file = (await new Request(post(body)).files()).get("a");
    assert.equal(
      file?.headers.get("content-disposition"),
      'form-data; name="a"; filename="b.txt"',
    );
  });
  await t.step("a folded Content-Type still gives the charset", async () => {
    const body = new Uint8Array([
      ...encoder.encode(
        `${head}Content-Disposition: form-data; name="a"\r\n` +
          `Content-Type: text/plain;\r\n charset=ISO-8859-1\r\n\r\ncaf`,
      ),
      0xe9,
      ...encoder.encode(end),
    ]);
    await checkForm(body, BOUNDARY, [["a", "caf\u00e9"]]);
  });
  await t.step("a fold as the very first header line is a 400", async () => {
    const body = `${head} Content-Disposition: form-data; name="a"\r\n\r\n` +
      `x${end}`;
    const error = await new Request(post(body)).form().then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.ok(error instanceof RequestParseError, String(error));
    assert.equal(error.status, 400);
    assert.equal(
      error.message,
      "Malformed multipart body: folded line before any header",
    );
  });
  await t.step("folded lines count in maxPartHeaderSize", async () => {
    const block = `Content-Disposition: form-data;\r\n name="a"`;
    const body = `${head}${block}\r\n\r\nx${end}`;
    const at = { maxPartHeaderSize: block.length };
    assert.equal(
      (await new Request(post(body), { limits: at }).form())
        .get("a"),
      "x",
    );
    const under = { maxPartHeaderSize: block.length - 1 };
    const error = await new Request(post(body), { limits: under }).form()
      .then(() => assert.fail("no error"), (e) => e);
    assert.ok(error instanceof PayloadTooLarge, String(error));
    assert.equal(
      error.message,
      `Part headers over the limit of ${
        block.length - 1
      } bytes (maxPartHeaderSize)`,
    );
  });
});

Deno.test("FileUpload.filename keeps only the base name the client sent", async (t) => {
  const cases: [string, string][] = [
    ["photo.jpg", "photo.jpg"],
    ["../../etc/passwd", "passwd"],
    ["/abs/path/a.txt", "a.txt"],
    ["C:\\Users\\ada\\a.txt", "a.txt"],
    ["\\\\server\\share\\a.txt", "a.txt"],
    ["C:a.txt", "a.txt"],
    ["..", ""],
    ["dir/.", ""],
  ];
  for (const [sent, kept] of cases) {
    await t.step(JSON.stringify(sent), async () => {
      const body = multipartBody(BOUNDARY, [
        { name: "f", filename: sent, content: "x" },
      ]);
      const file = (await new Request(post(body)).files()).get("f");
      assert.equal(file?.filename, kept);
    });
  }
});

Deno.test("Request.form() answers 400 to malformed multipart bodies", async (t) => {
  const part = `Content-Disposition: form-data; name="a"\r\n\r\nx`;
  const cases: [string, string, string, string?][] = [
    ["no boundary", "x", "no boundary", "multipart/form-data"],
    [
      "an invalid boundary",
      "x",
      "invalid boundary",
      'multipart/form-data; boundary="a@b"',
    ],
    ["an empty body", "", "boundary not found"],
    ["garbage", "this is not multipart at all", "boundary not found"],
    ["an unterminated part", `--${BOUNDARY}\r\n${part}`, "unterminated part"],
    [
      "a missing close delimiter",
      `--${BOUNDARY}\r\n${part}\r\n--${BOUNDARY}\r\n`,
      "unterminated part",
    ],
    [
      "no Content-Disposition",
      `--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--`,
      "part without Content-Disposition",
    ],
    [
      "no headers at all",
      `--${BOUNDARY}\r\n\r\nx\r\n--${BOUNDARY}--`,
      "part without Content-Disposition",
    ],
    [
      "no name",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; filename="a"\r\n\r\nx\r\n--${BOUNDARY}--`,
      "part without a name",
    ],
    [
      "a disposition other than form-data",
      `--${BOUNDARY}\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`,
      "part not form-data",
    ],
    [
      "a header line without a colon",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nbogus\r\n\r\nx\r\n--${BOUNDARY}--`,
      "bad part header",
    ],
    [
      "text after a boundary",
      `--${BOUNDARY}junk\r\n${part}\r\n--${BOUNDARY}--`,
      "bad boundary line",
    ],
    [
      "a bad header in a file part",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"; filename="f"\r\nBad Name: x\r\n\r\nx\r\n--${BOUNDARY}--`,
      "bad part header",
    ],
  ];
  for (const [name, body, message, type] of cases) {
    await t.step(name, async () => {
      const error = await new Request(post(body, { type })).form().then(
        () => assert.fail("no error"),
        (e) => e,
      );
      assert.ok(error instanceof RequestParseError, String(error));
      assert.equal(error.status, 400);
      assert.equal(error.message, `Malformed multipart body: ${message}`);
    });
  }
});

Deno.test("Request.form() answers 413 when a multipart limit is exceeded", async (t) => {
  const field = (name: string, content: string) => ({ name, content });
  const file = (name: string, content: string | Uint8Array) => ({
    name,
    filename: `${name}.bin`,
    content,
  });
  const cases: [
    string,
    Parameters<typeof multipartBody>[1],
    RequestLimits,
    string,
    boolean?,
  ][] = [
    [
      "maxMultipartSize, declared",
      [field("a", "x".repeat(200))],
      { maxMultipartSize: 100 },
      "Multipart body over the limit of 100 bytes (maxMultipartSize)",
      true,
    ],
    [
      "maxMultipartSize, streamed",
      [field("a", "x".repeat(200))],
      { maxMultipartSize: 100 },
      "Multipart body over the limit of 100 bytes (maxMultipartSize)",
    ],
    [
      "maxParts",
      [field("a", "1"), field("b", "2"), field("c", "3")],
      { maxParts: 2 },
      "Multipart body over the limit of 2 parts (maxParts)",
    ],
    [
      "maxFiles",
      [file("a", "1"), field("b", "2"), file("c", "3")],
      { maxFiles: 1 },
      "Multipart body over the limit of 1 files (maxFiles)",
    ],
    [
      "maxFieldSize",
      [field("a", "x".repeat(11))],
      { maxFieldSize: 10 },
      "Field over the limit of 10 bytes (maxFieldSize)",
    ],
    [
      "maxFileSize in memory",
      [file("a", "x".repeat(11))],
      { maxFileSize: 10 },
      "File over the limit of 10 bytes (maxFileSize)",
    ],
    [
      "maxFileSize in a temporary file",
      [file("a", new Uint8Array(5000))],
      { maxFileSize: 4000, maxFileMemorySize: 100 },
      "File over the limit of 4000 bytes (maxFileSize)",
    ],
    [
      "maxPartHeaderSize",
      [{ name: "a".repeat(200), content: "x" }],
      { maxPartHeaderSize: 100 },
      "Part headers over the limit of 100 bytes (maxPartHeaderSize)",
    ],
  ];
  for (const [name, parts, limits, message, declared] of cases) {
    await t.step(name, async () => {
      for (const chunkSize of [7, 65536]) {
        const raw = post(multipartBody(BOUNDARY, parts), {
          chunkSize,
          length: declared,
        });
        const error = await new Request(raw, { limits }).form().then(
          () => assert.fail("no error"),
          (e) => e,
        );
        assert.ok(error instanceof PayloadTooLarge, String(error));
        assert.equal(error.message, message);
      }
    });
  }
  await t.step("limits at their exact value pass", async () => {
    const form = await new Request(
      post(multipartBody(BOUNDARY, [field("a", "x".repeat(10))])),
      { limits: { maxFieldSize: 10, maxParts: 1, maxFiles: 0 } },
    ).form();
    assert.equal(form.get("a"), "x".repeat(10));
  });
});

Deno.test("Request.form() answers 408 when a multipart body stops arriving", async () => {
  let cancelled = false;
  const stalled = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`--${BOUNDARY}\r\n`));
    },
    cancel() {
      cancelled = true;
    },
  });
  const raw = new globalThis.Request("http://x.test/", {
    method: "POST",
    body: stalled,
    headers: { "content-type": TYPE },
  });
  // Body deadlines never keep a process alive (a server does): hold the
  // event loop open while the deadline runs out.
  const alive = setTimeout(() => {}, 5_000);
  const error = await new Request(raw, { limits: { bodyTimeout: 20 } }).form()
    .then(() => assert.fail("no error"), (e) => e);
  clearTimeout(alive);
  assert.ok(error instanceof RequestTimeout);
  assert.equal(error.status, 408);
  assert.ok(cancelled);
});

Deno.test("Request.form() answers 400 when the multipart body fails mid-way", async () => {
  let sent = false;
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(
          multipartBody(BOUNDARY, [{
            name: "f",
            filename: "f.bin",
            content: new Uint8Array(10_000),
          }]).slice(0, 5000),
        );
      } else controller.error(new Error("connection reset"));
    },
  });
  const raw = new globalThis.Request("http://x.test/", {
    method: "POST",
    body: failing,
    headers: { "content-type": TYPE },
  });
  const error = await new Request(raw, { limits: { maxFileMemorySize: 100 } })
    .form().then(() => assert.fail("no error"), (e) => e);
  assert.ok(error instanceof RequestParseError);
  assert.equal(error.message, "Body could not be read");
});

Deno.test("Request.bytes() refuses a body that form() streamed as multipart", async () => {
  const request = new Request(post(SAMPLE));
  await request.form();
  await assert.rejects(() => request.bytes(), TypeError);
  await assert.rejects(() => request.json(), TypeError);
});

Deno.test("Request.files() and get() read multipart forms", async () => {
  const request = new Request(post(SAMPLE));
  const files = await request.files();
  assert.deepEqual([...files.keys()], ["doc"]);
  assert.ok(files.get("doc") instanceof FileUpload);
  assert.equal(await request.get("title"), "Caffè latte");
  assert.deepEqual(await request.getAll("tag"), ["", "hot"]);
});

/** Runs `handler` through toHandler and keeps the uploads it saw. */
async function uploadsAfterResponse(
  throwAfterReading: boolean,
): Promise<{ status: number; small: FileUpload; big: FileUpload }> {
  let small: FileUpload | undefined;
  let big: FileUpload | undefined;
  const fetch = toHandler(async (request) => {
    const files = await request.files();
    small = files.get("small");
    big = files.get("big");
    if (throwAfterReading) throw new Error("handler failed");
    return new Response(await big!.text());
  }, { onError: () => {}, limits: { maxFileMemorySize: 1000 } });
  const body = multipartBody(BOUNDARY, [
    { name: "small", filename: "s.txt", content: "tiny" },
    { name: "big", filename: "b.txt", content: "B".repeat(5000) },
  ]);
  const response = await fetch(post(body));
  await response.arrayBuffer();
  // Without Deno.serve's `completed`, cleanup runs on the next task.
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { status: response.status, small: small!, big: big! };
}

Deno.test("uploads are released once the response is sent: temporary files removed, memory freed", async (t) => {
  const released = (error: Error) =>
    error instanceof Deno.errors.NotFound &&
    /released once its response was sent/.test(error.message);
  await t.step("after a handler that succeeded", async () => {
    const { status, small, big } = await uploadsAfterResponse(false);
    assert.equal(status, 200);
    await assert.rejects(() => small.text(), released);
    await assert.rejects(() => small.bytes(), released);
    await assert.rejects(() => small.save("/tmp/never-written"), released);
    assert.throws(() => small.stream(), released);
    assert.equal(small.size, 4); // what describes it stays
    await assert.rejects(() => big.bytes(), Deno.errors.NotFound);
  });
  await t.step("after a handler that threw", async () => {
    const { status, small, big } = await uploadsAfterResponse(true);
    assert.equal(status, 500);
    await assert.rejects(() => small.text(), released);
    await assert.rejects(() => big.bytes(), Deno.errors.NotFound);
  });
});

Deno.test("uploads of a request read outside toHandler, serve and DispatcherApp stay readable", async () => {
  const body = multipartBody(BOUNDARY, [
    { name: "small", filename: "s.txt", content: "tiny" },
  ]);
  const form = await new Request(post(body)).form();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const upload = form.get("small");
  assert.ok(upload instanceof FileUpload);
  assert.equal(await upload.text(), "tiny");
});

Deno.test("FileUpload.stream() opened before cleanup still reads the whole file", async () => {
  const content = "S".repeat(100_000);
  const fetch = toHandler(async (request) => {
    const upload = (await request.files()).get("f")!;
    return new Response(upload.stream(), { contentType: "text/plain" });
  });
  const body = multipartBody(BOUNDARY, [
    { name: "f", filename: "f.txt", content },
  ]);
  const response = await fetch(post(body));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(await response.text(), content);
});

Deno.test("FileUpload.save() copies a spooled upload", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const content = "Z".repeat(70_000);
    const form = await new Request(
      post(multipartBody(BOUNDARY, [{ name: "f", filename: "f", content }])),
    ).form();
    const upload = form.get("f") as FileUpload;
    await upload.save(`${dir}/kept.txt`);
    await upload.save(`${dir}/again.txt`);
    assert.equal(await Deno.readTextFile(`${dir}/kept.txt`), content);
    assert.equal(await Deno.readTextFile(`${dir}/again.txt`), content);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Request.form() left unawaited by a handler does not crash the server", async () => {
  const fetch = toHandler((request) => {
    request.form(); // malformed body: rejects later, never awaited
    return new Response("ok");
  });
  const response = await fetch(post("garbage"));
  assert.equal(await response.text(), "ok");
  await new Promise((resolve) => setTimeout(resolve, 10));
});

Deno.test("FileUpload can be made in memory", async () => {
  const upload = new FileUpload(encoder.encode("abc"), {
    filename: "dir/a.txt",
    contentType: "Text/Plain; charset=UTF-8",
    headers: { "x-extra": "1" },
  });
  assert.equal(upload.filename, "a.txt");
  assert.equal(
    new FileUpload(copyOf("x"), { filename: "a\u0000b\u001f.txt" }).filename,
    "ab.txt",
  );
  assert.equal(upload.contentType, "text/plain");
  assert.equal(upload.headers.get("x-extra"), "1");
  assert.equal(upload.size, 3);
  assert.equal(await upload.text(), "abc");
  assert.equal(await new Response(upload.stream()).text(), "abc");
  const copy = await upload.bytes();
  copy[0] = 0;
  assert.equal(await upload.text(), "abc");
  assert.equal(await new FileUpload(new Uint8Array(0)).text(), "");
});

Deno.test("DispatcherApp route limits apply to multipart forms", async () => {
  const app = new DispatcherApp({ limits: { maxFiles: 5 } });
  const read = async (request: Request) =>
    new Response(String((await request.files()).size));
  app.match("/strict", "POST", read, { limits: { maxFiles: 0 } });
  app.match("/open", "POST", read);
  const body = multipartBody(BOUNDARY, [
    { name: "f", filename: "f.txt", content: "x" },
  ]);
  const strict = await app.fetch(post(body, { path: "/strict" }));
  assert.equal(strict.status, 413);
  assert.equal(
    await strict.text(),
    "Multipart body over the limit of 0 files (maxFiles)\n",
  );
  const open = await app.fetch(post(body, { path: "/open" }));
  assert.equal(await open.text(), "1");
});

Deno.test("Request.form() shares a streamed body between wrappers of one web request", async () => {
  const raw = post(SAMPLE);
  const outer = await new Request(raw).form();
  const inner = await new Request(raw).form();
  assert.equal(inner, outer);
  assert.equal(inner.get("title"), "Caffè latte");
});

Deno.test("form() reads a small multipart body of declared length in one piece, with its deadline", async (t) => {
  const server = startServer(toHandler(async (request) => {
    const form = await request.form();
    const file = form.get("f");
    return Response.json({
      name: form.get("name"),
      file: typeof file === "string"
        ? null
        : [file?.filename, await file?.text()],
    });
  }, { limits: { bodyTimeout: 300 } }));
  const body = multipartBody("b0", [
    { name: "name", content: "Zoë" },
    {
      name: "f",
      filename: "../../etc/notes.txt",
      contentType: "text/plain",
      content: "hi",
    },
  ]);
  const head = (length: number) =>
    `POST / HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n` +
    `Content-Type: multipart/form-data; boundary=b0\r\nContent-Length: ${length}\r\n\r\n`;
  try {
    await t.step("the whole body: fields and files as streamed", async () => {
      const response = await rawRequest(server.port, [
        head(body.byteLength),
        body,
      ]);
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body), {
        name: "Zoë",
        file: ["notes.txt", "hi"],
      });
    });
    await t.step("a declared length the client never sends: 408", async () => {
      const response = await rawRequest(server.port, [
        head(body.byteLength + 10),
        body,
      ]);
      assert.equal(response.status, 408);
    });
    await t.step(
      "a truncated body of declared length: 400, never an empty form",
      async () => {
        const cut = body.subarray(0, body.byteLength - 8);
        const response = await rawRequest(server.port, [
          head(cut.byteLength),
          cut,
        ]);
        assert.equal(response.status, 400);
        assert.match(response.body, /^Malformed multipart body/);
      },
    );
  } finally {
    await server.close();
  }
});

/**
 * Posts a multipart `body` in pieces cut at `cuts`, each sent a moment after
 * the one before so that the server reads each as one chunk.
 */
function postInPieces(
  port: number,
  boundary: string,
  body: Uint8Array,
  cuts: number[],
) {
  const pieces: RawPart[] = [
    `POST / HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n` +
    `Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
    `Content-Length: ${body.byteLength}\r\n\r\n`,
  ];
  let from = 0;
  for (const cut of [...cuts, body.byteLength]) {
    const piece = body.subarray(from, cut);
    pieces.push(
      from === 0
        ? piece
        : new Promise((resolve) => setTimeout(() => resolve(piece), 30)),
    );
    from = cut;
  }
  return rawRequest(port, pieces);
}

Deno.test("fields and uploads keep their content while a served body's chunks are released", async () => {
  let form: Awaited<ReturnType<Request["form"]>> | undefined;
  let smallRead: Uint8Array | undefined;
  const server = startServer(toHandler(async (request) => {
    form = await request.form();
    const upload = form.get("small");
    assert.ok(upload instanceof FileUpload);
    smallRead = await upload.bytes();
    return new Response("ok");
  }));
  // Over maxFileMemorySize in all, so it streams; each file under it, so
  // it is held in memory. The note spans the second and third chunks, and
  // the small file lies inside the third (a chunk that follows no carried
  // tail, so the parser sees it as it arrived).
  const small = new Uint8Array(1000).map((_, i) => (i * 7) % 251);
  const note = "n".repeat(15_000);
  const body = multipartBody("b1", [
    { name: "title", content: "Zoë" },
    { name: "note", content: note },
    { name: "small", filename: "s.bin", content: small },
    { name: "medium", filename: "m.bin", content: "m".repeat(60_000) },
  ]);
  const text = new TextDecoder().decode(body);
  const noteAt = text.indexOf("nnn");
  try {
    const response = await postInPieces(server.port, "b1", body, [
      noteAt + 5000,
      noteAt + 10_000,
      text.indexOf("mmm") + 1000,
    ]);
    assert.equal(response.status, 200);
    // The chunks were released as the parser finished with them: what the
    // form holds must not have been views of them.
    assert.deepEqual(smallRead, small);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(form?.get("title"), "Zoë");
    assert.equal(form?.get("note"), note);
    const upload = form?.get("small");
    assert.ok(upload instanceof FileUpload);
    await assert.rejects(() => upload.bytes(), Deno.errors.NotFound);
  } finally {
    await server.close();
  }
});

Deno.test("a file that spills to disk from the very start of a chunk leaves the rest of that chunk readable", async () => {
  const server = startServer(toHandler(async (request) => {
    const form = await request.form();
    const file = form.get("file");
    return Response.json({
      file: typeof file === "string" ? null : (await file?.text())?.length,
      after: form.get("after"),
    });
  }, { limits: { maxFileMemorySize: 1000 } }));
  const body = multipartBody("b2", [
    { name: "file", filename: "f.txt", content: "f".repeat(5000) },
    { name: "after", content: "still here" },
  ]);
  const text = new TextDecoder().decode(body);
  try {
    // The second chunk starts with the file's content and holds the next
    // part too: the spilled content is a view of that chunk.
    const response = await postInPieces(server.port, "b2", body, [
      text.indexOf("fff"),
    ]);
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), {
      file: 5000,
      after: "still here",
    });
  } finally {
    await server.close();
  }
});

/** The script of an upload server run without `--allow-write`. */
const NO_WRITE_SERVER = `
import { DispatcherApp } from ${
  JSON.stringify(new URL("../mod.ts", import.meta.url).href)
};
const app = new DispatcherApp({
  limits: { maxFileSize: 200_000, maxMultipartSize: 250_000 },
});
app.match("/upload", "POST", async (request) => {
  const file = (await request.files()).get("f");
  return new Response(String(file?.size));
});
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(port),
}, app.fetch);
`;

/**
 * Runs {@linkcode NO_WRITE_SERVER} in a child process with the network and
 * the environment only, and returns its base URL, its standard error so
 * far, and how to stop it.
 */
async function startWithoutWrite(dir: string) {
  const script = `${dir}/server.ts`;
  await Deno.writeTextFile(script, NO_WRITE_SERVER);
  const server = await startPortServer(script, {
    flags: [
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
    ],
    env: { NO_COLOR: "1" },
    stderr: "piped",
  });
  return {
    base: `http://127.0.0.1:${server.port}`,
    errors: () => server.err.join("\n"),
    stop: server.stop,
  };
}

/** Posts a file of `size` bytes as field `f`, with or without a length. */
async function upload(
  base: string,
  size: number,
  streamed = false,
): Promise<{ status: number; text: string }> {
  const body = multipartBody(BOUNDARY, [
    { name: "f", filename: "photo.png", content: new Uint8Array(size) },
  ]);
  const response = await fetch(`${base}/upload`, {
    method: "POST",
    headers: { "content-type": TYPE },
    body: streamed ? new Blob([body as BlobPart]).stream() : body as BodyInit,
  });
  return { status: response.status, text: await response.text() };
}

Deno.test("uploads without --allow-write: limits first (413), then a 500 explained once in the log", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "pesto-no-write-" });
  const server = await startWithoutWrite(dir);
  try {
    await t.step("an upload that fits in memory is read", async () => {
      assert.deepEqual(await upload(server.base, 60_000), {
        status: 200,
        text: "60000",
      });
    });
    await t.step("one over maxFileMemorySize: the generic 500", async () => {
      for (let i = 0; i < 2; i++) {
        const r = await upload(server.base, 150_000);
        assert.equal(r.status, 500);
        assert.match(r.text, /Internal Server Error/);
        assert.doesNotMatch(r.text, /NotCapable|allow-write|maxFile/);
      }
    });
    await t.step(
      "one over maxFileSize: 413, never touching the disk",
      async () => {
        for (const streamed of [false, true]) {
          const r = await upload(server.base, 210_000, streamed);
          assert.equal(r.status, 413);
          assert.equal(
            r.text,
            "File over the limit of 200000 bytes (maxFileSize)\n",
          );
        }
      },
    );
    await t.step("a streamed body over maxMultipartSize: 413", async () => {
      const body = multipartBody(BOUNDARY, [
        { name: "f", filename: "a.png", content: new Uint8Array(150_000) },
        { name: "g", filename: "b.png", content: new Uint8Array(150_000) },
      ]);
      const response = await fetch(`${server.base}/upload`, {
        method: "POST",
        headers: { "content-type": TYPE },
        body: new Blob([body as BlobPart]).stream(),
      });
      assert.equal(response.status, 413);
      assert.equal(
        await response.text(),
        "Multipart body over the limit of 250000 bytes (maxMultipartSize)\n",
      );
    });
    await t.step("the log says once what fixes it", () => {
      const lines = server.errors().split("\n");
      const hints = lines.filter((line) =>
        line.includes("--allow-write") && line.includes("maxFileMemorySize")
      );
      assert.equal(hints.length, 1, server.errors());
      assert.match(
        hints[0],
        /^Pesto: an upload over maxFileMemorySize \(65536 bytes\) could not be written to a temporary file in \S+ \(NotCapable: .*\)\. .*--allow-write=\S+ \(or --allow-write\); or raise the maxFileMemorySize limit to keep uploads in memory\./,
      );
      // Each 500 is logged as any handler error is, with its cause.
      const logged = lines.filter((line) =>
        /^Error while handling POST \S+\/upload: NotCapable/.test(line)
      );
      assert.equal(logged.length, 2, server.errors());
    });
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
