// The session of each web request, put there by `sessionMiddleware` and
// read by `Request.session`. Requests derived by the composition
// middlewares (mount, overlay, useXForwarded) carry it over.
import type { Session } from "./session.ts";

/** The session of each web request that went through the middleware. */
export const sessionOf: WeakMap<globalThis.Request, Session> = new WeakMap();
