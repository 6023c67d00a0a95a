// request.vars: one map per request, shared with every request the library
// derives from it, and never with another request.
import assert from "node:assert/strict";
import {
  compose,
  DispatcherApp,
  type Middleware,
  mount,
  overlay,
  Request,
  Response,
  useXForwarded,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";

const tag: Middleware = (next) => (raw, info) => {
  new Request(raw).vars.set("tag", new URL(raw.url).searchParams.get("t"));
  return next(raw, info);
};

function reader(): DispatcherApp {
  const app = new DispatcherApp();
  app.match("/v", "GET", async (request) => {
    await new Promise((resolve) =>
      setTimeout(resolve, Number(request.query.get("t")))
    );
    return new Response(`${request.vars.get("tag")} ${request.vars.size}`);
  });
  return app;
}

Deno.test("request.vars is carried through mount, overlay and useXForwarded", async (t) => {
  const places = {
    "compose": compose(tag)(reader()),
    "mount": compose(tag)(mount({ "/m": reader() })),
    "overlay": compose(tag)(overlay(new DispatcherApp(), reader())),
    "useXForwarded": compose(tag, useXForwarded())(reader()),
  };
  for (const [name, fetch] of Object.entries(places)) {
    await t.step(name, async () => {
      const path = name === "mount" ? "/m/v" : "/v";
      const client = new TestApp({ fetch }, { remoteAddr: "127.0.0.1" });
      const answers = await Promise.all(
        ["3", "1", "2"].map((t) =>
          client.get(path, {
            query: { t },
            headers: { "x-forwarded-host": "y.test" },
          })
        ),
      );
      assert.deepEqual(answers.map((r) => r.text), ["3 1", "1 1", "2 1"]);
    });
  }
});

Deno.test("request.vars starts empty and is the same map for two wrappers", () => {
  const raw = new globalThis.Request("http://x.test/");
  const a = new Request(raw);
  assert.equal(a.vars.size, 0);
  a.vars.set("user", "ada");
  assert.equal(new Request(raw).vars.get("user"), "ada");
  assert.equal(
    new Request(new globalThis.Request("http://x.test/")).vars.size,
    0,
  );
});
