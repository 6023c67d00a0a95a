// Pesto without a router: one handler through toHandler().
import { Response, toHandler } from "@pesto/pesto";

const port = Number(Deno.env.get("PORT") ?? 8000);
Deno.serve(
  { port, hostname: "127.0.0.1", onListen() {} },
  toHandler(() => new Response("Hello, world!", { contentType: "text/plain" })),
);
