/**
 * Response building and the per-request cost of the handler stack, each
 * next to the nearest web built-in or Hono equivalent.
 *
 *     deno bench --allow-all bench/response_bench.ts
 *
 * @module
 */
import { Hono } from "hono";
import {
  DispatcherApp,
  Response as PestoResponse,
  toHandler,
} from "@pesto/pesto";
import { releaseSentBody } from "../_runtime/sent_body.ts";

const TEXT = "Hello, world!";
const CHUNKS = [
  "<ul>",
  "<li>one</li>",
  "<li>two</li>",
  "<li>three</li>",
  "</ul>",
];
const encoder = new TextEncoder();
const info = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
  completed: Promise.resolve(),
} as unknown as Deno.ServeHandlerInfo;

Deno.bench("web Response(string)", { group: "string" }, () => {
  new Response(TEXT, {
    headers: { "content-type": "text/html; charset=UTF-8" },
  });
});
Deno.bench(
  "Pesto Response(string)",
  { group: "string", baseline: true },
  () => {
    new PestoResponse(TEXT);
  },
);

Deno.bench("web Response(chunks joined)", { group: "chunks" }, () => {
  new Response(CHUNKS.join(""), {
    headers: { "content-type": "text/html; charset=UTF-8" },
  });
});
Deno.bench(
  "Pesto Response(chunks)",
  { group: "chunks", baseline: true },
  () => {
    new PestoResponse(CHUNKS);
  },
);

Deno.bench("web Response(ReadableStream.from(generator)) read", {
  group: "generator",
}, async () => {
  function* gen() {
    for (const c of CHUNKS) yield encoder.encode(c);
  }
  await new Response(ReadableStream.from(gen())).arrayBuffer();
});
Deno.bench("Pesto Response(generator) read", {
  group: "generator",
  baseline: true,
}, async () => {
  function* gen() {
    yield* CHUNKS;
  }
  await new PestoResponse(gen()).arrayBuffer();
});

Deno.bench("web Response + headers.append x2", { group: "modifiers" }, () => {
  const r = new Response(TEXT, {
    headers: { "content-type": "text/html; charset=UTF-8" },
  });
  r.headers.append("cache-control", "no-store");
  r.headers.append("set-cookie", "theme=dark; Path=/");
});
Deno.bench("Pesto Response.addHeader().addCookie()", {
  group: "modifiers",
  baseline: true,
}, () => {
  new PestoResponse(TEXT).addHeader("Cache-Control", "no-store").addCookie(
    "theme",
    "dark",
    {
      path: "/",
    },
  );
});

// What every served response pays to learn whether its bytes are released
// once sent (_sent_body.ts): a text body is not, so nothing waits.
const SENT_TEXT = new Response(TEXT);
Deno.bench("read a response's status", { group: "after sent" }, () => {
  if (SENT_TEXT.status !== 200) throw new Error("unexpected status");
});
Deno.bench("releaseSentBody on a text response", {
  group: "after sent",
  baseline: true,
}, () => {
  releaseSentBody(SENT_TEXT, info, () => true);
});

Deno.bench("web Response.json", { group: "json" }, () => {
  Response.json({ id: 42, name: "user" });
});
Deno.bench("Pesto Response.json", { group: "json", baseline: true }, () => {
  PestoResponse.json({ id: 42, name: "user" });
});

// The whole in-process stack for one request, without the network.
const hello = new Request("http://127.0.0.1:8000/");
const user = new Request("http://127.0.0.1:8000/user/42");
const rawFetch = (request: Request) => {
  const path = new URL(request.url).pathname;
  if (path === "/") return new Response(TEXT);
  const m = /^\/user\/(\d+)$/.exec(path);
  if (m) return Response.json({ id: Number(m[1]), name: "user" });
  return new Response("Not Found", { status: 404 });
};
const hono = new Hono();
hono.get("/", (c) => c.text(TEXT));
hono.get(
  "/user/:id{[0-9]+}",
  (c) => c.json({ id: Number(c.req.param("id")), name: "user" }),
);
const pestoHandler = toHandler(() =>
  new PestoResponse(TEXT, { contentType: "text/plain" })
);
const app = new DispatcherApp();
app.match(
  "/",
  "GET",
  () => new PestoResponse(TEXT, { contentType: "text/plain" }),
);
app.match(
  "/user/<id:int>",
  "GET",
  (_request, { id }) => PestoResponse.json({ id, name: "user" }),
);

Deno.bench("raw fetch handler: hello", { group: "stack hello" }, async () => {
  await rawFetch(hello);
});
Deno.bench("Hono: hello", { group: "stack hello" }, async () => {
  await hono.fetch(hello, info);
});
Deno.bench("Pesto toHandler: hello", { group: "stack hello" }, async () => {
  await pestoHandler(hello, info);
});
Deno.bench("Pesto DispatcherApp: hello", {
  group: "stack hello",
  baseline: true,
}, async () => {
  await app.fetch(hello, info);
});

Deno.bench(
  "raw fetch handler: /user/42 JSON",
  { group: "stack json" },
  async () => {
    await rawFetch(user);
  },
);
Deno.bench("Hono: /user/42 JSON", { group: "stack json" }, async () => {
  await hono.fetch(user, info);
});
Deno.bench("Pesto DispatcherApp: /user/42 JSON", {
  group: "stack json",
  baseline: true,
}, async () => {
  await app.fetch(user, info);
});
