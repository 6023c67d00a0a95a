// What the batteries cost per request, in-process: a session read and
// write (memory store), a static file (small, and a 64 KiB range), a
// conditional 304, and a mount in front of an app. Each is measured next
// to the bare app it wraps.
import {
  compose,
  conditional,
  DispatcherApp,
  mount,
  Response,
  serveStatic,
  sessionMiddleware,
} from "@pesto/pesto";

const app = new DispatcherApp();
app.match("/", "GET", () => new Response("hello"));
app.match(
  "/read",
  "GET",
  (request) => new Response(String(request.session.get("n") ?? 0)),
);
app.match("/write", "GET", (request) => {
  request.session.set("n", (request.session.get<number>("n") ?? 0) + 1);
  return new Response("ok");
});
const root = await Deno.makeTempDir();
await Deno.writeTextFile(`${root}/small.css`, "body{}".repeat(100));
await Deno.writeFile(`${root}/big.bin`, new Uint8Array(1 << 20));
app.match("/static/<path:path>", "GET", serveStatic(root));
app.match(
  "/etag",
  "GET",
  () => new Response("x".repeat(1000), { headers: { ETag: '"v1"' } }),
);

const sessions = compose(sessionMiddleware())(app);
const first = await sessions(new Request("http://x/write"));
const cookie = first.headers.get("set-cookie")!.split(";")[0];
const withCookie = (path: string) =>
  new Request(`http://x${path}`, { headers: { cookie } });
const cond = compose(conditional())(app);
const mounted = mount({ "/a": app, "/b": app, "/": app });

async function drain(r: globalThis.Response | Promise<globalThis.Response>) {
  await (await r).arrayBuffer();
}

Deno.bench(
  "bare app: GET /",
  { group: "session", baseline: true },
  async () => {
    await drain(app.fetch(new Request("http://x/")));
  },
);
Deno.bench(
  "session: read an existing session",
  { group: "session" },
  async () => {
    await drain(sessions(withCookie("/read")));
  },
);
Deno.bench("session: change and save it", { group: "session" }, async () => {
  await drain(sessions(withCookie("/write")));
});
Deno.bench("static: 600-byte file", { group: "static" }, async () => {
  await drain(app.fetch(new Request("http://x/static/small.css")));
});
Deno.bench(
  "static: 64 KiB range of a 1 MiB file",
  { group: "static" },
  async () => {
    await drain(
      app.fetch(
        new Request("http://x/static/big.bin", {
          headers: { Range: "bytes=65536-131071" },
        }),
      ),
    );
  },
);
Deno.bench("conditional(): 200 without validators", {
  group: "conditional",
  baseline: true,
}, async () => {
  await drain(cond(new Request("http://x/etag")));
});
Deno.bench("conditional(): 304", { group: "conditional" }, async () => {
  await drain(
    cond(
      new Request("http://x/etag", { headers: { "If-None-Match": '"v1"' } }),
    ),
  );
});
Deno.bench("mount(): app under /a", { group: "mount" }, async () => {
  await drain(mounted(new Request("http://x/a/")));
});
Deno.bench(
  "no mount: same app",
  { group: "mount", baseline: true },
  async () => {
    await drain(app.fetch(new Request("http://x/")));
  },
);
