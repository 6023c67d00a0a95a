// The session middleware: loads the session a request's cookie names, and
// saves it (and sets the cookie) once the response is known.
import {
  Cookie,
  type CookieOptions,
  expireCookie,
  parseCookieHeader,
} from "../cookies.ts";
import { encodePathText } from "../_http/path.ts";
import { type RequestRecord, sharedOf } from "../_message/record.ts";
import { HttpError } from "../_message/errors.ts";
import { withHeaders } from "../_message/response.ts";
import { type DualMiddleware, middlewareEntry } from "../_handler.ts";
import { MemorySessionStore } from "./memory_store.ts";
import { StoreHealth } from "./health.ts";
import {
  ID_PATTERN,
  kLoad,
  kState,
  Session,
  type SessionRecord,
  type SessionStore,
} from "./session.ts";

/** Options of {@linkcode sessionMiddleware}. */
export interface SessionOptions {
  /**
   * Where sessions are kept.
   * @default {new MemorySessionStore()}
   */
  store?: SessionStore;
  /**
   * The name of the session cookie.
   * @default {"pesto_session"}
   */
  cookieName?: string;
  /**
   * Attributes of the session cookie, over the defaults: `Path` is the
   * script name the app is mounted under (else `/`), `HttpOnly`,
   * `SameSite=Lax`, and `Secure` when the request came over https. With no
   * `maxAge` or `expires` the cookie lasts until the browser closes.
   * @default {{ httpOnly: true, sameSite: "Lax" }}
   */
  cookie?: CookieOptions;
  /**
   * Milliseconds without a request after which a session expires.
   * @default {1800000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds after its creation at which a session expires, however
   * active it is.
   * @default {86400000}
   */
  absoluteTimeout?: number;
  /**
   * An unchanged session is written back to push its idle expiry forward
   * at most this often (in ms), so reading a session rarely writes.
   * @default {60000}
   */
  touchInterval?: number;
  /**
   * The clock, in ms since the epoch (replace it in tests).
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * Called with every failure of the store. Whether or not it is given, the
   * log gets one line when the store stops answering and one when it
   * answers again; meanwhile a request that needs its session answers 503
   * with `Retry-After` and the others are served as usual. A session that
   * cannot be saved once the handler has run is a 503 too, and what the
   * handler did stands: a client that tries again may find it done.
   * @default {undefined}
   */
  onError?: (error: unknown) => void;
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new TypeError(
      `Cannot use sessions: ${name} must be a positive number of ms, not ${value}`,
    );
  }
  return value;
}

/**
 * The session middleware: loads the session named by the request's cookie
 * (or starts a new one) before the handler runs, so `request.session`
 * works in Pesto handlers, and saves it before the response goes out when
 * it changed, setting the cookie when the id is new.
 *
 * A client's id is used only when the store knows it and it has not
 * expired; anything else gets a new random id. A new session that nothing
 * was put in is neither stored nor sent. Two concurrent requests of one
 * session each save their own copy; the last one wins.
 *
 * @param options The store, the cookie, and the expiry times.
 * @returns A {@linkcode Middleware}.
 * @throws {TypeError} When the cookie name or attributes are invalid or a
 *   time is not a positive number.
 *
 * @example
 * ```ts
 * import { compose, MemorySessionStore, Response, sessionMiddleware, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const counter = toHandler((request) => {
 *   const visits = (request.session.get<number>("visits") ?? 0) + 1;
 *   request.session.set("visits", visits);
 *   return new Response(`visit ${visits}`);
 * });
 * const fetch = compose(sessionMiddleware({ store: new MemorySessionStore() }))(counter);
 *
 * const first = await fetch(new Request("https://example.com/"));
 * const cookie = first.headers.get("set-cookie")!;
 * assert.match(cookie, /^pesto_session=[0-9a-f]{64}; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
 * const second = await fetch(new Request("https://example.com/", {
 *   headers: { cookie: cookie.split(";")[0] },
 * }));
 * assert.equal(await second.text(), "visit 2");
 * ```
 */
export function sessionMiddleware(
  options: SessionOptions = {},
): DualMiddleware {
  const store = options.store ?? new MemorySessionStore();
  const cookieName = options.cookieName ?? "pesto_session";
  const idle = positive("idleTimeout", options.idleTimeout ?? 30 * 60_000);
  const absolute = positive(
    "absoluteTimeout",
    options.absoluteTimeout ?? 24 * 3600_000,
  );
  const touchInterval = options.touchInterval ?? 60_000;
  const now = options.now ?? Date.now;

  const health = new StoreHealth(
    "Session store",
    options.onError ?? (() => {}),
  );
  const cookieDefaults: CookieOptions = { httpOnly: true, sameSite: "Lax" };
  // Check the name and attributes now, not on the first request.
  new Cookie(cookieName, "x", { secure: true, path: "/", ...options.cookie });

  const cookieFor = (
    raw: globalThis.Request,
    record: RequestRecord,
  ): CookieOptions => {
    const url = record.url ?? raw.url;
    const script = record.scriptName;
    return {
      ...cookieDefaults,
      path: script ? encodePathText(script) : "/",
      secure: url.startsWith("https:"),
      ...options.cookie,
    };
  };

  return middlewareEntry((next) => async (raw, info, record) => {
    const clientId = parseCookieHeader(raw.headers.get("cookie"))
      .getAll(cookieName).find((value) => ID_PATTERN.test(value));
    const start = now();
    let session: Session | undefined;
    if (clientId !== undefined) {
      let stored: SessionRecord | undefined;
      try {
        stored = await store.get(clientId);
        health.answered();
      } catch (error) {
        health.failed(error);
        // Served as usual unless it reads `request.session`: then a 503.
        sharedOf(record).sessionUnavailable = unavailable();
        return await next(raw, info);
      }
      if (
        stored && stored.expiresAt > start &&
        stored.createdAt + absolute > start
      ) {
        session = Session[kLoad](clientId, stored);
      }
    }
    session ??= new Session();
    sharedOf(record).session = session;
    const response = await next(raw, info);

    const state = Session[kState](session);
    const time = now();
    const text = JSON.stringify(state.data);
    const changed = text !== state.loadedText || state.rotated;
    const dropped = state.storedId !== undefined &&
      state.storedId !== session.id;
    const createdAt = state.createdAt ?? time;
    const deadline = Math.min(time + idle, createdAt + absolute);
    let setCookie: string | undefined;
    try {
      if (dropped) await store.delete(state.storedId!);
      if (changed) {
        await store.set(session.id, {
          data: state.data,
          createdAt,
          expiresAt: deadline,
        });
        if (session.id !== clientId) {
          setCookie = new Cookie(cookieName, session.id, cookieFor(raw, record))
            .toString();
        }
      } else if (dropped) {
        setCookie = expireCookie(cookieName, cookieFor(raw, record)).toString();
      } else if (
        state.expiresAt !== undefined &&
        state.expiresAt - time < idle - touchInterval &&
        state.expiresAt < deadline
      ) {
        await store.set(session.id, {
          data: state.data,
          createdAt,
          expiresAt: deadline,
        });
      }
      if (dropped || changed) health.answered();
    } catch (error) {
      health.failed(error);
      response.body?.cancel().catch(() => {});
      return unavailable().toResponse();
    }
    if (setCookie === undefined) return response;
    const value = setCookie;
    return withHeaders(response, (headers) => {
      headers.append("Set-Cookie", value);
      // A response that sets a session id must not be kept by shared caches.
      if (!headers.has("cache-control")) {
        headers.set("Cache-Control", "private, no-cache");
      }
    });
  }, "sessionMiddleware()");
}

/** The 503 of a request whose session store cannot be reached. */
function unavailable(): HttpError {
  return new HttpError(
    503,
    "Sessions are unavailable for a moment: try again shortly",
    { headers: { "Retry-After": "5" } },
  );
}
