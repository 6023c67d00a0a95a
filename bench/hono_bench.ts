// What fromHono() costs per request, in-process: a DispatcherApp hello bare
// and behind fromHono() with a Hono middleware that does nothing, then
// behind fromHono(requestId()) (a value for request.vars and a header set
// before next()) and fromHono(etag()) (which hashes the body). A Hono app
// answering the same hello through the same middleware is beside each, for
// scale: the difference is the adapter's share.
import { DispatcherApp, Response } from "@pesto/pesto";
import { fromHono } from "@pesto/pesto/hono";
import { Hono, type MiddlewareHandler } from "hono";
import { etag } from "hono/etag";
import { requestId } from "hono/request-id";

const app = new DispatcherApp();
app.match("/", "GET", () => new Response("hello"));

const noop: MiddlewareHandler = async (_c, next) => {
  await next();
};
const honoApp = (middleware: MiddlewareHandler) =>
  new Hono().use(middleware).get("/", (c) => c.text("hello")).fetch;

const stacks = {
  "bare app": app.fetch,
  "fromHono(no-op)(app)": fromHono(noop)(app),
  "Hono app, no-op middleware": honoApp(noop),
  "fromHono(requestId())(app)": fromHono(requestId())(app),
  "Hono app, requestId()": honoApp(requestId()),
  "fromHono(etag())(app)": fromHono(etag())(app),
  "Hono app, etag()": honoApp(etag()),
};

// Each must answer hello, or the numbers mean nothing.
for (const [name, fetch] of Object.entries(stacks)) {
  const r = await fetch(new Request("http://x/"));
  if (await r.text() !== "hello") throw new Error(`${name}: not hello`);
}

function bench(name: keyof typeof stacks, group: string, baseline = false) {
  const fetch = stacks[name];
  Deno.bench(`${name}: GET /`, { group, baseline }, async () => {
    await (await fetch(new Request("http://x/"))).arrayBuffer();
  });
}

bench("bare app", "no-op", true);
bench("fromHono(no-op)(app)", "no-op");
bench("Hono app, no-op middleware", "no-op");
bench("fromHono(requestId())(app)", "requestId", true);
bench("Hono app, requestId()", "requestId");
bench("fromHono(etag())(app)", "etag", true);
bench("Hono app, etag()", "etag");
