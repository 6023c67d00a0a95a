// Memory of a 1 GB upload: the script starts a Pesto server in a child
// process, streams a 1 GB file to it as multipart/form-data over a raw
// socket on 127.0.0.1, and the server reports how much its resident memory
// grew while form() spooled the file to a temporary file.
//
//   deno run --allow-all bench/upload_rss.ts [size in MB, default 1024]
//
// A benchmark, not a test: it takes a few seconds and 1 GB of disk.
import { Response, toHandler } from "@pesto/pesto";

const MB = 1024 * 1024;

if (Deno.args[0] === "--server") {
  const handler = toHandler(async (request) => {
    gc();
    const before = Deno.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, Deno.memoryUsage().rss);
    }, 10);
    const started = performance.now();
    try {
      const upload = (await request.files()).get("file");
      const seconds = (performance.now() - started) / 1000;
      peak = Math.max(peak, Deno.memoryUsage().rss);
      return new Response(
        JSON.stringify({ size: upload?.size, before, peak, seconds }),
        { contentType: "application/json" },
      );
    } finally {
      clearInterval(sampler);
    }
  }, {
    limits: {
      maxMultipartSize: 4096 * MB,
      maxFileSize: 4096 * MB,
      bodyTimeout: 600_000,
    },
  });
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(port),
  }, handler);
} else {
  await client(Number(Deno.args[0] ?? 1024));
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function client(sizeMb: number): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--server",
    ],
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const port = Number((await lines.read()).value?.trim());
    const boundary = "upload-rss-boundary";
    const encoder = new TextEncoder();
    const head = encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n`,
    );
    const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
    const chunk = new Uint8Array(MB);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
    const length = head.length + sizeMb * MB + tail.length;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const write = async (bytes: Uint8Array) => {
      for (let offset = 0; offset < bytes.length;) {
        offset += await conn.write(bytes.subarray(offset));
      }
    };
    const started = performance.now();
    await write(encoder.encode(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
        `Content-Length: ${length}\r\n\r\n`,
    ));
    await write(head);
    for (let i = 0; i < sizeMb; i++) await write(chunk);
    await write(tail);
    let text = "";
    const buffer = new Uint8Array(4096);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    conn.close();
    const seconds = (performance.now() - started) / 1000;
    const result = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    console.log(`uploaded:          ${(result.size / MB).toFixed(0)} MB`);
    console.log(
      `time:              ${seconds.toFixed(1)} s (${
        (sizeMb / seconds).toFixed(0)
      } MB/s)`,
    );
    console.log(`server RSS before: ${(result.before / MB).toFixed(1)} MB`);
    console.log(`server RSS peak:   ${(result.peak / MB).toFixed(1)} MB`);
    console.log(
      `server RSS growth: ${
        ((result.peak - result.before) / MB).toFixed(1)
      } MB`,
    );
  } finally {
    child.kill();
    await child.status;
  }
}
