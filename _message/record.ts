// The one per-request record: everything the library attaches to a web
// request lives here, under one private symbol of the request itself (a
// WeakMap entry per request costs far more: its ephemeron table grew the
// heap by tens of MiB under load).
//
// A record is made by the first fetch entry a request reaches (or by
// `new Request(raw)`), and every web request the library derives from it
// (`mount`'s prefix-stripped request, `overlay`'s copies, `useXForwarded`'s
// rewritten one, the conditional probe) gets a record of its own for what
// differs (its URL, script name, Host, client address) that shares the rest:
// the session, the body already read, the cleanups to run once the response
// is sent, and `vars`. So a form a middleware read is the form the mounted
// app reads, and cleanups run once.
import type { MultiDict } from "../multidict.ts";
import { hostHeader, isServerRequest } from "../_runtime/served_request.ts";
import type { Session } from "../_session/session.ts";
import type { FormValue } from "./upload.ts";

/** What was read of a request's body, shared by every wrapper of it. */
export interface BodyRead {
  /** The whole body, read once. */
  bytes?: Promise<Uint8Array>;
  /** The form of a multipart body, parsed as it streamed in. */
  multipart?: Promise<MultiDict<FormValue>>;
  /** `bytes()` gave the bytes to the application: they are never released. */
  handedOut?: boolean;
}

/** A cleanup run once the response has been sent. */
export type Cleanup = () => Promise<void>;

/** What a request shares with every request derived from it. */
export class SharedState {
  /** The session, put there by `sessionMiddleware`. */
  session: Session | undefined = undefined;
  /**
   * Why the session could not be loaded (its store is out of reach):
   * reading `request.session` throws it, a 503.
   */
  sessionUnavailable: Error | undefined = undefined;
  /** What was read of the body. */
  body: BodyRead | undefined = undefined;
  /**
   * What runs once the response has been sent (removing the temporary files
   * of uploads, releasing body buffers); `"done"` once that has run.
   */
  cleanups: Cleanup[] | "done" | undefined = undefined;
  /** Values handlers and middlewares share (`request.vars`). */
  vars: Map<string, unknown> | undefined = undefined;
  /**
   * The web request the others were derived from, set when the first is
   * derived: the one `Deno.serve` gave, the only one it upgrades to a
   * WebSocket.
   */
  source: globalThis.Request | undefined = undefined;
  /**
   * The method the client sent, when `methodOverride()` changed it (a POST
   * form made a PUT, PATCH or DELETE): the body stays the form whatever the
   * method now says.
   */
  originalMethod: string | undefined = undefined;
}

/** What a derived request changes of its parent's record. */
export interface RecordOverrides {
  /** The URL to read the target from, instead of the web request's. */
  url?: string;
  /** The Host to validate with that URL. */
  host?: string | null;
  /** The decoded script name the request is mounted under. */
  scriptName?: string;
}

/** Everything the library knows of one web request. */
export class RequestRecord {
  /** What the server told about the connection. */
  info: Deno.ServeHandlerInfo | undefined;
  /**
   * Whether the body's buffers belong to this request alone (a request from
   * `Deno.serve`, or one `TestApp` made): they may then be released once
   * read. Decided from the connection info the request entered the library
   * with, when first asked (see {@linkcode ownsBody}).
   */
  ownsBody: boolean | undefined;
  /**
   * Whether a fetch entry runs what waits for the response to be sent; the
   * first entry a request reaches takes that on, inner ones leave it.
   */
  owned: boolean;
  /** The Host header, once read (`undefined`: not read yet). */
  host: string | null | undefined;
  /** See {@linkcode RecordOverrides}. */
  url: string | undefined;
  /** See {@linkcode RecordOverrides}. */
  scriptName: string | undefined;
  /** See {@linkcode RecordOverrides}. */
  remoteAddr: string | undefined;
  /** What is shared with derived requests, made on first use. */
  shared: SharedState | undefined;

  constructor(
    info: Deno.ServeHandlerInfo | undefined,
    ownsBody: boolean | undefined,
  ) {
    this.info = info;
    this.ownsBody = ownsBody;
    this.owned = false;
    this.host = undefined;
    this.url = undefined;
    this.scriptName = undefined;
    this.remoteAddr = undefined;
    this.shared = undefined;
  }
}

const kRecord = Symbol("pesto.record");

/** The record of `raw`, if the library has seen it. */
export function recordOf(raw: globalThis.Request): RequestRecord | undefined {
  return (raw as { [kRecord]?: RequestRecord })[kRecord];
}

/** The record of `raw`, made now when there is none. */
export function ensureRecord(
  raw: globalThis.Request,
  info?: Deno.ServeHandlerInfo,
  ownsBody?: boolean,
): RequestRecord {
  const holder = raw as { [kRecord]?: RequestRecord };
  return holder[kRecord] ??= new RequestRecord(info, ownsBody);
}

/**
 * The key of a connection info whose requests own their bodies, as those of
 * `Deno.serve` do: `TestApp` sets it on the info it passes.
 */
export const kOwnBodies: unique symbol = Symbol("pesto.ownBodies");

/**
 * Whether the body of `raw` (whose record is `record`) belongs to it alone:
 * it came from `Deno.serve` (with the server's info), or from `TestApp`.
 */
export function ownsBody(
  raw: globalThis.Request,
  record: RequestRecord,
): boolean {
  if (record.ownsBody === undefined) {
    const info = record.info as
      | (Deno.ServeHandlerInfo & { [kOwnBodies]?: boolean })
      | undefined;
    record.ownsBody = info !== undefined && "completed" in info &&
      (info[kOwnBodies] === true || isServerRequest(raw));
  }
  return record.ownsBody;
}

/** What `record` shares with derived requests. */
export function sharedOf(record: RequestRecord): SharedState {
  return record.shared ??= new SharedState();
}

/**
 * The Host the request is read with, read from `raw` once per record (a
 * derived request's record may hold another: see `RecordOverrides.host`).
 */
export function hostOf(
  raw: globalThis.Request,
  record: RequestRecord,
): string | null {
  return record.host !== undefined
    ? record.host
    : record.host = hostHeader(raw);
}

/**
 * A copy of `raw` for `url` (method, headers and body kept unless `init`
 * says otherwise) whose record shares `raw`'s and applies `overrides`. A
 * body the library already read stays with the shared record (the copy
 * gets none: reading it through a Pesto `Request` gives what was read).
 */
export function deriveRequest(
  raw: globalThis.Request,
  url: string,
  overrides: RecordOverrides = {},
  init: RequestInit = {},
): globalThis.Request {
  const { parent, shared, bodyRead } = parentOf(raw);
  const derived = new globalThis.Request(url, {
    method: raw.method,
    headers: raw.headers,
    body: bodyRead || raw.bodyUsed ? null : raw.body,
    ...init,
  });
  adopt(derived, parent, shared, overrides, ownsBody(raw, parent));
  return derived;
}

/**
 * A copy of `raw` whose record shares `raw`'s; its body is a branch of
 * `raw`'s (teed), unless the library already read it.
 */
export function cloneRequest(raw: globalThis.Request): globalThis.Request {
  const { parent, shared, bodyRead } = parentOf(raw);
  const clone = bodyRead
    ? new globalThis.Request(raw.url, {
      method: raw.method,
      headers: raw.headers,
    })
    : raw.clone();
  // A teed body's chunks are seen by both branches: never released.
  adopt(clone, parent, shared, { host: parent.host }, false);
  return clone;
}

/**
 * What a copy of `raw` shares: its record, the shared state, and whether
 * the library already read the body.
 */
function parentOf(
  raw: globalThis.Request,
): { parent: RequestRecord; shared: SharedState; bodyRead: boolean } {
  const parent = ensureRecord(raw);
  const shared = sharedOf(parent);
  shared.source ??= raw;
  const bodyRead = shared.body?.bytes !== undefined ||
    shared.body?.multipart !== undefined;
  return { parent, shared, bodyRead };
}

function adopt(
  derived: globalThis.Request,
  parent: RequestRecord,
  shared: SharedState,
  overrides: RecordOverrides,
  ownsBody: boolean,
): void {
  const record = ensureRecord(derived, parent.info, ownsBody);
  record.owned = true; // the parent's entry runs what waits for the response
  record.url = overrides.url ?? parent.url;
  // The Host goes with the URL it is read with: a request read from its own
  // URL reads its own Host header.
  record.host = "host" in overrides
    ? overrides.host
    : record.url !== undefined
    ? parent.host
    : undefined;
  record.scriptName = overrides.scriptName ?? parent.scriptName;
  record.remoteAddr = parent.remoteAddr;
  record.shared = shared;
}
/**
 * Registers `cleanup` to run once the response to the request has been
 * sent (see `afterSent` in `_handler.ts`); when that has already happened,
 * runs it now.
 */
export function onRequestDone(record: RequestRecord, cleanup: Cleanup): void {
  const shared = sharedOf(record);
  const list = shared.cleanups;
  if (list === "done") cleanup().catch(logCleanupError);
  else if (list === undefined) shared.cleanups = [cleanup];
  else list.push(cleanup);
}

/**
 * Registers `cleanup` as {@linkcode onRequestDone} does, unless the response
 * is already known: then it never runs (for work that must not run while
 * the response may still read the request, such as releasing its body).
 */
export function beforeRequestDone(
  record: RequestRecord,
  cleanup: Cleanup,
): void {
  const shared = sharedOf(record);
  const list = shared.cleanups;
  if (list === undefined) shared.cleanups = [cleanup];
  else if (list !== "done") list.push(cleanup);
}

/**
 * Marks the response as known: when nothing was registered, what is
 * registered from now on runs at once. Returns whether cleanups wait for
 * {@linkcode runRequestCleanups}.
 */
export function responseKnown(record: RequestRecord): boolean {
  const shared = sharedOf(record);
  if (shared.cleanups === undefined) {
    shared.cleanups = "done";
    return false;
  }
  return shared.cleanups !== "done";
}

/**
 * Runs the cleanups of the request once (later ones run as they are
 * registered); the promise settles when they are done, and never rejects.
 */
export async function runRequestCleanups(record: RequestRecord): Promise<void> {
  const shared = sharedOf(record);
  const list = shared.cleanups;
  shared.cleanups = "done";
  if (!Array.isArray(list)) return;
  await Promise.all(list.map((cleanup) => cleanup().catch(logCleanupError)));
}

function logCleanupError(error: unknown): void {
  console.error("Error while cleaning up after a request:", error);
}
