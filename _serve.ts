// `serve()`: `Deno.serve` for an app or a handler, with a start line that
// says where to open it.
import {
  type FetchHandlerNeedsFromFetch,
  type Servable,
  servableFetch,
  type ToHandlerOptions,
} from "./_handler.ts";
import { shutdownOnSignal, type ShutdownOptions } from "./_shutdown.ts";

/**
 * Options of {@linkcode serve}: those of `Deno.serve` (but `onError`, which
 * is `toHandler`'s: Pesto maps handler errors itself), `toHandler`'s, and
 * those of the graceful shutdown on SIGTERM and SIGINT (`shutdownTimeout`,
 * `signals`, `onShutdown`; `signals: []` turns it off).
 */
export type ServeOptions =
  & Omit<Partial<Deno.ServeTcpOptions>, "onError">
  & ToHandlerOptions
  & Omit<ShutdownOptions, "log">;

/**
 * Serves an app or a handler with `Deno.serve` and returns the server. A
 * plain handler goes through {@linkcode toHandler} first. The port defaults
 * to the `PORT` environment variable (when readable), else 8080.
 *
 * Once listening, it logs one line with an address to open, such as
 * `Pesto listening on http://localhost:8080/ (all interfaces)`; pass
 * `onListen` to log something else, or `onListen() {}` to log nothing.
 *
 * On SIGTERM or SIGINT it shuts down gracefully (see `shutdownOnSignal`):
 * no new connections, requests in flight finish within `shutdownTimeout`
 * (10 s by default), temporary upload files are removed, `onShutdown` runs,
 * one line is logged, and the process exits 0.
 *
 * @param app A `DispatcherApp` (or anything with a `fetch`), or a handler.
 * @param options `Deno.serve` options (`port`, `hostname`, `signal`,
 *   `onListen`, ...) and `toHandler` options.
 * @returns The running server.
 * @throws {Deno.errors.AddrInUse} When the port is taken (the message
 *   names the port and how to choose another).
 * @throws {TypeError} When `PORT` is set to something other than a port.
 *
 * @example
 * ```ts
 * import { Response, serve } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const server = serve(() => new Response("hi"), { port: 0, onListen() {} });
 * const { port } = server.addr as Deno.NetAddr;
 * assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "hi");
 * await server.shutdown();
 * ```
 */
export function serve(
  app: Servable | FetchHandlerNeedsFromFetch,
  options: ServeOptions = {},
): Deno.HttpServer<Deno.NetAddr> {
  const {
    limits,
    debug,
    onError,
    errorPage,
    shutdownTimeout,
    signals,
    onShutdown,
    ...serveOptions
  } = options;
  const fetch = servableFetch(
    app,
    { limits, debug, onError, errorPage },
    "serve()",
  );
  const tls = "cert" in serveOptions && serveOptions.cert !== undefined;
  const port = serveOptions.port ?? defaultPort();
  try {
    const server = Deno.serve({
      onListen: (addr) => console.log(listeningLine(addr, tls)),
      ...serveOptions,
      port,
    }, fetch);
    const stop = shutdownOnSignal(server, {
      shutdownTimeout,
      signals,
      onShutdown,
    });
    // A server shut down by hand no longer listens for the signals.
    server.finished.then(stop, stop);
    return server;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Deno.errors.AddrInUse(
        `Cannot serve on port ${port}: another program is listening on it; stop that program or choose another port (the PORT environment variable, or serve(app, { port }))`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The start line of {@linkcode serve}: an address a browser can open. */
function listeningLine(addr: Deno.NetAddr, tls: boolean): string {
  const scheme = tls ? "https" : "http";
  const wildcard = addr.hostname === "0.0.0.0" || addr.hostname === "::";
  const host = wildcard
    ? "localhost"
    : addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return `Pesto listening on ${scheme}://${host}:${addr.port}/${
    wildcard ? " (all interfaces)" : ""
  }`;
}

/**
 * The port in `PORT`, else 8080. A `PORT` that cannot be read (no
 * `--allow-env`) is said once on the console, as a malformed one is an error.
 */
function defaultPort(): number {
  let port: string | undefined;
  try {
    port = Deno.env.get("PORT");
  } catch (error) {
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      console.warn(
        "Pesto cannot read PORT without --allow-env (or --allow-env=PORT): serving on port 8080",
      );
      return 8080;
    }
    throw error;
  }
  if (port === undefined || port === "") return 8080;
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new TypeError(
      `Cannot serve on PORT "${
        port.slice(0, 20)
      }": it is not a port number (0 to 65535)`,
    );
  }
  return Number(port);
}
