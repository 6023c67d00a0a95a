/**
 * Sessions: {@linkcode sessionMiddleware} gives each request a
 * `request.session`, a small JSON key-value map kept on the server under a
 * random id that travels in a cookie.
 *
 * Three stores share one {@linkcode SessionStore} interface:
 * {@linkcode MemorySessionStore} (the default; a bounded LRU map in the
 * process), {@linkcode KvSessionStore} (Deno KV: a local file for one
 * machine, or a remote KV database for many) and
 * {@linkcode RedisSessionStore} (a Redis server, for apps that run on many
 * machines).
 *
 * Following Python's Pesto (`pesto.session`): ids are 64 lowercase hex
 * digits, read from the `pesto_session` cookie; an id the store does not
 * know is never adopted (the client gets a new one); the session is saved
 * only when it changed. Differences: ids come from `crypto.getRandomValues`
 * (256 bits) instead of a hash of the time; data is JSON, never pickled
 * code; changes are found by comparing the JSON form (so changing an object
 * got from the session counts, with no explicit `save()`); the session is
 * saved before the response is returned (not once it is sent); sessions
 * expire after an idle time and after an absolute lifetime, through the
 * store's own expiry (no purge thread); the cookie is `HttpOnly`,
 * `SameSite=Lax` and `Secure` on https; there is no query-string mode
 * (session ids never go in URLs); and `regenerate()` gives the session a
 * new id on login.
 *
 * Flash messages (Flask's `flash`): `await session.flash(message)` before a
 * redirect, `await session.takeFlashes()` on the page that shows them; they
 * are kept in the session until read.
 *
 * @example Login with a session
 * ```ts
 * import { compose, DispatcherApp, Response, sessionMiddleware } from "@pesto/pesto";
 * import { TestApp } from "@pesto/pesto/testing";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/login", "POST", async (request) => {
 *   request.session.regenerate(); // a new id on login
 *   request.session.set("user", String(await request.get("user")));
 *   return new Response("welcome");
 * });
 * app.match("/me", "GET", (request) =>
 *   new Response(request.session.get<string>("user") ?? "nobody"));
 *
 * const client = new TestApp({ fetch: compose(sessionMiddleware())(app.fetch) });
 * assert.equal((await client.get("/me")).text, "nobody");
 * await client.post("/login", { form: { user: "ada" } });
 * assert.equal((await client.get("/me")).text, "ada");
 * ```
 *
 * @module
 */
export {
  type Flash,
  type JsonValue,
  Session,
  type SessionData,
  type SessionRecord,
  type SessionStore,
} from "./_session/session.ts";
export {
  sessionMiddleware,
  type SessionOptions,
} from "./_session/middleware.ts";
export {
  MemorySessionStore,
  type MemorySessionStoreOptions,
} from "./_session/memory_store.ts";
export {
  KvSessionStore,
  type KvSessionStoreOptions,
} from "./_session/kv_store.ts";
export {
  type RedisCommandClient,
  RedisSessionStore,
  type RedisSessionStoreOptions,
} from "./_session/redis_store.ts";
