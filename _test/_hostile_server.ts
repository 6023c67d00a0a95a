// The hostile-input app served in its own process, with TMPDIR set by the
// parent to a fresh folder so that it can watch upload files appear and
// disappear. It prints its port, then serves until killed. BODY_TIMEOUT sets
// the read deadline of `/form` in ms.
import { makeHostileApp } from "./_hostile_app.ts";

const fixture = await makeHostileApp({
  bodyTimeout: Number(Deno.env.get("BODY_TIMEOUT") ?? 10_000),
});
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen({ port }) {
    console.log(port);
  },
}, fixture.fetch);
await server.finished;
