/**
 * The smallest Pesto application: one handler, served on port 8080 (or
 * `PORT`).
 *
 *     deno run --allow-net --allow-env examples/hello.ts
 *
 * @module
 */
import { Response, serve, toHandler } from "@pesto/pesto";

/** Answers every request with a heading. */
export function handler(): Response {
  return new Response([
    "<body><h1>Whoa Nelly!</h1></body>",
  ]);
}

if (import.meta.main) {
  serve({ fetch: toHandler(handler) });
}
