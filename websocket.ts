/**
 * WebSockets: {@linkcode upgradeWebSocket} answers a routed request with
 * the 101 response that turns its connection into a WebSocket, and calls
 * handlers as the socket opens, receives messages, errs and closes. Routes
 * with typed placeholders serve sockets like any page (`/rooms/<room>`), and
 * middlewares (sessions, logging) run for the upgrade request as for any
 * other.
 *
 * The upgrade is checked before it is made (RFC 6455, section 4.2): a request that
 * is not a WebSocket upgrade (not a GET, or no `Upgrade: websocket`) gets
 * 426 Upgrade Required with `Upgrade: websocket`, an unknown
 * `Sec-WebSocket-Version` 426 with `Sec-WebSocket-Version: 13`, a malformed
 * handshake (no `Connection: Upgrade`, a bad `Sec-WebSocket-Key`) 400, and a
 * client that offers none of the subprotocols the server speaks 400: each is
 * an {@linkcode HttpError} thrown to the handler's runner, so the app's
 * error page renders it.
 *
 * A handler that throws or rejects is logged and its socket closed with
 * code 1011 (internal error), never left to crash the process. The sockets
 * are Deno's own (`Deno.upgradeWebSocket`): binary messages arrive as
 * `ArrayBuffer`s; the connection is only upgraded when the response reaches
 * `Deno.serve` (an in-process `app.fetch` gets the 101, and no socket opens).
 *
 * @example An echo server, and a client
 * ```ts
 * import { DispatcherApp } from "@pesto/pesto";
 * import { upgradeWebSocket } from "@pesto/pesto/websocket";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/echo/<name:unicode>", "GET", (request, { name }) =>
 *   upgradeWebSocket(request, {
 *     onMessage: (socket, event) => socket.send(`${name}: ${event.data}`),
 *   }));
 * const server = Deno.serve({ port: 0, onListen() {} }, app.fetch);
 *
 * const socket = new WebSocket(`ws://localhost:${server.addr.port}/echo/ada`);
 * socket.onopen = () => socket.send("hello");
 * const reply = await new Promise((resolve) => {
 *   socket.onmessage = (event) => resolve(event.data);
 * });
 * assert.equal(reply, "ada: hello");
 * socket.close();
 * await new Promise((resolve) => socket.onclose = resolve);
 * await server.shutdown();
 * ```
 *
 * @module
 */
import { HttpError } from "./_message/errors.ts";
import { recordOf } from "./_message/record.ts";
import type { Request } from "./_message/request.ts";

/**
 * What {@linkcode upgradeWebSocket} calls, each with the socket and the
 * event. Each may return a promise; one that throws or rejects is logged
 * and the socket closed with code 1011.
 */
export interface WebSocketHandlers {
  /** The socket is open: it can send. */
  onOpen?: (socket: WebSocket, event: Event) => unknown;
  /**
   * A message: `event.data` is a string for a text frame, an `ArrayBuffer`
   * for a binary one.
   */
  onMessage?: (socket: WebSocket, event: MessageEvent) => unknown;
  /**
   * The socket is closed: `event.code` and `event.reason` say how
   * (1005 when the peer gave no code, 1006 when the connection dropped).
   */
  onClose?: (socket: WebSocket, event: CloseEvent) => unknown;
  /** The connection failed; `onClose` follows. */
  onError?: (socket: WebSocket, event: Event) => unknown;
}

/** Options of {@linkcode upgradeWebSocket}. */
export interface UpgradeWebSocketOptions {
  /**
   * The subprotocol the server speaks, or several in order of preference:
   * the first one the client offers (`Sec-WebSocket-Protocol`) is chosen
   * and becomes `socket.protocol`; a client that offers none of them gets
   * 400. Without it, no subprotocol is chosen (a client that asked for one
   * then fails the connection, as RFC 6455 says).
   * @default {undefined}
   */
  protocol?: string | readonly string[];
}

/**
 * 426 Upgrade Required: the resource speaks WebSocket only, and the request
 * was not a WebSocket upgrade. It carries `Upgrade: websocket` (and
 * `Sec-WebSocket-Version: 13` when the client asked for another version).
 *
 * @example
 * ```ts
 * import { UpgradeRequired } from "@pesto/pesto/websocket";
 * import assert from "node:assert/strict";
 *
 * const r = new UpgradeRequired().toResponse();
 * assert.equal(r.status, 426);
 * assert.equal(r.headers.get("upgrade"), "websocket");
 * ```
 */
export class UpgradeRequired extends HttpError {
  /**
   * Creates the error.
   *
   * @param message The text sent to the client.
   * @param headers More headers (`Upgrade: websocket` is always sent).
   *
   * @example
   * ```ts
   * import { UpgradeRequired } from "@pesto/pesto/websocket";
   * import assert from "node:assert/strict";
   *
   * const error = new UpgradeRequired("Use a WebSocket", { "Sec-WebSocket-Version": "13" });
   * assert.equal(error.headers.get("sec-websocket-version"), "13");
   * assert.equal(error.message, "Use a WebSocket");
   * ```
   */
  constructor(
    message = "This resource is a WebSocket: connect with a WebSocket client",
    headers: HeadersInit = {},
  ) {
    const all = new Headers(headers);
    all.set("Upgrade", "websocket");
    super(426, message, { headers: all });
  }
}

const HANDLERS = new Set(["onOpen", "onMessage", "onClose", "onError"]);
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Whether a comma-separated header holds `token`, case-insensitively. */
function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  return value.split(",").some((part) => part.trim().toLowerCase() === token);
}

/**
 * Answers a WebSocket upgrade request with the 101 response that opens the
 * socket, and wires `handlers` to it. Return the response from the handler
 * (the connection is upgraded once `Deno.serve` gets it).
 *
 * @param request The request, a Pesto `Request` or a web one.
 * @param handlers `onOpen`, `onMessage`, `onClose` and `onError`, each
 *   called with the socket and the event.
 * @param options `protocol`: the subprotocols the server speaks.
 * @returns The 101 Switching Protocols response.
 * @throws {UpgradeRequired} When the request is not a WebSocket upgrade, or
 *   asks for a version other than 13 (426).
 * @throws {HttpError} When the handshake is malformed, or the client offers
 *   none of `options.protocol` (400).
 * @throws {TypeError} When `handlers` holds something other than the four
 *   handler functions.
 *
 * @example A chat room per route, with a subprotocol
 * ```ts
 * import { DispatcherApp } from "@pesto/pesto";
 * import { upgradeWebSocket } from "@pesto/pesto/websocket";
 * import assert from "node:assert/strict";
 *
 * const rooms = new Map<string, Set<WebSocket>>();
 * const app = new DispatcherApp();
 * app.match("/rooms/<room:unicode>", "GET", (request, { room }) => {
 *   const members = rooms.get(room) ?? new Set();
 *   rooms.set(room, members);
 *   return upgradeWebSocket(request, {
 *     onOpen: (socket) => void members.add(socket),
 *     onMessage: (_socket, event) => {
 *       for (const member of members) member.send(event.data);
 *     },
 *     onClose: (socket) => void members.delete(socket),
 *   }, { protocol: "chat.v1" });
 * });
 *
 * // A plain GET is no upgrade: 426.
 * const plain = await app.fetch(new Request("http://x.test/rooms/lobby"));
 * assert.equal(plain.status, 426);
 * assert.equal(plain.headers.get("upgrade"), "websocket");
 * ```
 */
export function upgradeWebSocket(
  request: Request | globalThis.Request,
  handlers: WebSocketHandlers,
  options: UpgradeWebSocketOptions = {},
): globalThis.Response {
  checkHandlers(handlers);
  const raw = request instanceof globalThis.Request ? request : request.raw;
  const headers = raw.headers;
  if (raw.method !== "GET" || !hasToken(headers.get("upgrade"), "websocket")) {
    throw new UpgradeRequired();
  }
  if (headers.get("sec-websocket-version")?.trim() !== "13") {
    throw new UpgradeRequired(
      "Unsupported WebSocket version: use version 13",
      { "Sec-WebSocket-Version": "13" },
    );
  }
  if (!hasToken(headers.get("connection"), "upgrade")) {
    throw new HttpError(
      400,
      "Bad WebSocket handshake: Connection must hold Upgrade",
    );
  }
  if (!KEY.test(headers.get("sec-websocket-key")?.trim() ?? "")) {
    throw new HttpError(
      400,
      "Bad WebSocket handshake: Sec-WebSocket-Key must be 16 bytes in base64",
    );
  }
  let protocol: string | undefined;
  if (options.protocol !== undefined) {
    const offered = (headers.get("sec-websocket-protocol") ?? "").split(",")
      .map((part) => part.trim()).filter((part) => part !== "");
    const spoken = typeof options.protocol === "string"
      ? [options.protocol]
      : options.protocol;
    protocol = spoken.find((name) => offered.includes(name));
    if (protocol === undefined) {
      throw new HttpError(
        400,
        `No WebSocket subprotocol in common: the server speaks ${
          spoken.join(", ")
        }`,
      );
    }
  }
  // Only the request Deno.serve gave can be upgraded, not one the library
  // derived from it (mount, useXForwarded, overlay).
  const served = recordOf(raw)?.shared?.source ?? raw;
  // The protocol is not given to Deno, which finds it only in an offer
  // split at ", " (and throws for "a,b"), and leaves the socket's
  // `protocol` empty: both are done here.
  const { socket, response } = Deno.upgradeWebSocket(served);
  if (protocol !== undefined) {
    response.headers.set("Sec-WebSocket-Protocol", protocol);
    Object.defineProperty(socket, "protocol", {
      value: protocol,
      enumerable: true,
    });
  }
  wire(socket, handlers);
  return response;
}

function checkHandlers(handlers: WebSocketHandlers): void {
  if (typeof handlers !== "object" || handlers === null) {
    throw new TypeError(
      "Cannot upgrade to a WebSocket: handlers must be an object of onOpen, onMessage, onClose, onError",
    );
  }
  for (const [name, value] of Object.entries(handlers)) {
    if (!HANDLERS.has(name)) {
      throw new TypeError(
        `Cannot upgrade to a WebSocket: unknown handler "${name}" (use onOpen, onMessage, onClose, onError)`,
      );
    }
    if (value !== undefined && typeof value !== "function") {
      throw new TypeError(
        `Cannot upgrade to a WebSocket: handler "${name}" is not a function`,
      );
    }
  }
}

function wire(socket: WebSocket, handlers: WebSocketHandlers): void {
  const { onOpen, onMessage, onClose, onError } = handlers;
  const failed = (name: string, error: unknown) => {
    console.error(`Error in a WebSocket ${name} handler:`, error);
    if (
      socket.readyState === WebSocket.OPEN ||
      socket.readyState === WebSocket.CONNECTING
    ) {
      try {
        socket.close(1011, "Internal Error");
      } catch { /* closing already */ }
    }
  };
  const on = <E extends Event>(
    type: string,
    name: string,
    handler: ((socket: WebSocket, event: E) => unknown) | undefined,
  ) => {
    if (handler === undefined) return;
    socket.addEventListener(type, (event) => {
      try {
        const result = handler(socket, event as E);
        if (typeof (result as PromiseLike<unknown>)?.then === "function") {
          Promise.resolve(result).catch((error) => failed(name, error));
        }
      } catch (error) {
        failed(name, error);
      }
    });
  };
  on("open", "onOpen", onOpen);
  on("message", "onMessage", onMessage);
  on("error", "onError", onError);
  on("close", "onClose", onClose);
}
