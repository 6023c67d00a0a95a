// Multipart parsing throughput: Pesto's streaming reader against Deno's
// native request.formData() (which buffers the whole body and has no
// limits), and @remix-run/multipart-parser, on the same bodies in the same
// run. Run with `deno bench --allow-all bench/multipart_bench.ts`.
import { parseMultipartRequest } from "@remix-run/multipart-parser";
import { Request } from "@pesto/pesto";
import { recordOf, runRequestCleanups } from "../_message/record.ts";
import { concat } from "../_message/body.ts";

const BOUNDARY = "----PestoBenchBoundary7MA4YWxkTrZu0gW";
const encoder = new TextEncoder();

function multipart(
  parts: { name: string; filename?: string; content: Uint8Array }[],
): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    const file = part.filename === undefined
      ? ""
      : `; filename="${part.filename}"\r\nContent-Type: application/octet-stream`;
    chunks.push(
      encoder.encode(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"${file}\r\n\r\n`,
      ),
      part.content,
      encoder.encode("\r\n"),
    );
  }
  chunks.push(encoder.encode(`--${BOUNDARY}--\r\n`));
  return concat(chunks, chunks.reduce((n, c) => n + c.byteLength, 0));
}

// A 10 MB file of pseudo-random bytes (CR and LF included, as in real files).
const fileBytes = new Uint8Array(10 * 1024 * 1024);
let seed = 42;
for (let i = 0; i < fileBytes.length; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  fileBytes[i] = seed >>> 24;
}
const bigBody = multipart([{
  name: "file",
  filename: "big.bin",
  content: fileBytes,
}]);
const fieldsBody = multipart(
  Array.from({ length: 1000 }, (_, i) => ({
    name: `field${i}`,
    content: encoder.encode(`value number ${i} with some text`),
  })),
);

// Bodies arrive from Deno.serve in chunks; 64 KiB here.
function request(body: Uint8Array): globalThis.Request {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < body.byteLength; i += 65536) {
        controller.enqueue(body.subarray(i, i + 65536));
      }
      controller.close();
    },
  });
  return new globalThis.Request("http://localhost/upload", {
    method: "POST",
    body: stream,
    headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
  });
}

const bigLimits = { maxFileSize: 64 * 1024 * 1024 };
const inMemory = { ...bigLimits, maxFileMemorySize: 64 * 1024 * 1024 };

async function pesto(body: Uint8Array, limits = bigLimits): Promise<void> {
  const raw = request(body);
  const form = await new Request(raw, { limits }).form();
  if (form.size === 0) throw new Error("empty form");
  await runRequestCleanups(recordOf(raw)!);
}

async function native(body: Uint8Array): Promise<void> {
  const form = await request(body).formData();
  if ([...form.keys()].length === 0) throw new Error("empty form");
}

async function remix(body: Uint8Array): Promise<void> {
  let parts = 0;
  for await (
    const part of parseMultipartRequest(request(body), {
      maxFileSize: 64 * 1024 * 1024,
    })
  ) {
    if (part.size >= 0) parts++;
  }
  if (parts === 0) throw new Error("empty form");
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

Deno.bench({
  name: `10 MB file: Pesto form(), spooled to a temp file`,
  group: "file",
  fn: async () => await pesto(bigBody),
});
Deno.bench({
  name: `10 MB file: Pesto form(), held in memory`,
  group: "file",
  fn: async () => await pesto(bigBody, inMemory),
});
Deno.bench({
  name: `10 MB file: native request.formData()`,
  group: "file",
  baseline: true,
  fn: async () => await native(bigBody),
});
Deno.bench({
  name: `10 MB file: @remix-run/multipart-parser`,
  group: "file",
  fn: async () => await remix(bigBody),
});
Deno.bench({
  name: `1,000 small fields (${mb(fieldsBody.byteLength)}): Pesto form()`,
  group: "fields",
  fn: async () => await pesto(fieldsBody),
});
Deno.bench({
  name: `1,000 small fields: native request.formData()`,
  group: "fields",
  baseline: true,
  fn: async () => await native(fieldsBody),
});
Deno.bench({
  name: `1,000 small fields: @remix-run/multipart-parser`,
  group: "fields",
  fn: async () => await remix(fieldsBody),
});
