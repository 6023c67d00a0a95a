// The session of each web request, put there by `sessionMiddleware` and
// read by `Request.session`. Requests derived by the composition
// middlewares (mount, overlay, useXForwarded) carry it over.
import { RequestSlot } from "./_context.ts";
import type { Session } from "./session.ts";

/** The session of each web request that went through the middleware. */
export const sessionOf: RequestSlot<Session> = new RequestSlot("pesto.session");
