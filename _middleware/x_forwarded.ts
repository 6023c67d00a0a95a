// `useXForwarded()`: the `X-Forwarded-*` headers of trusted proxies
// believed (Pesto's `use_x_forwarded`).
import { isValidHost } from "../_http/path.ts";
import { HttpError, unreadableTarget } from "../_message/errors.ts";
import { deriveRequest } from "../_message/record.ts";
import { type DualMiddleware, middlewareEntry } from "../_handler.ts";

/** Options of {@linkcode useXForwarded}. */
export interface XForwardedOptions {
  /**
   * The addresses of the proxies whose `X-Forwarded-*` headers are
   * believed. Requests from other peers are passed on unchanged.
   * @default {["127.0.0.1", "::1"]}
   */
  trusted?: Iterable<string>;
}

const PROTO = /^https?$/i;

/** The items of a comma-separated header, trimmed, empty ones dropped. */
function listItems(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s);
}

function lastItem(value: string | null): string | undefined {
  return value === null ? undefined : listItems(value).at(-1);
}

/**
 * Believes the `X-Forwarded-For`, `X-Forwarded-Host`, `X-Forwarded-Proto`
 * and `X-Forwarded-Ssl` headers when the request comes from a trusted proxy
 * (Pesto's `use_x_forwarded`). The client address (`request.remoteAddr`,
 * and `info.remoteAddr` for the next handler) is the right-most address of
 * `X-Forwarded-For` that is not itself a trusted proxy; the host and scheme
 * go into the URL the next handler sees, so built URLs and `Secure` session
 * cookies follow them. A malformed forwarded host is a 400; requests from
 * untrusted peers, or without connection info, pass unchanged.
 *
 * @param options The trusted proxy addresses.
 * @returns A {@linkcode Middleware}.
 *
 * @example
 * ```ts
 * import { compose, Response, toHandler, useXForwarded } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = toHandler((request) =>
 *   new Response(`${request.remoteAddr} ${request.requestUri}`));
 * const fetch = compose(useXForwarded({ trusted: ["10.0.0.1"] }))(app);
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "10.0.0.1", port: 4000 },
 *   completed: Promise.resolve(),
 * };
 * const r = await fetch(new Request("http://backend:8000/a", {
 *   headers: {
 *     "X-Forwarded-For": "203.0.113.9",
 *     "X-Forwarded-Host": "example.com",
 *     "X-Forwarded-Proto": "https",
 *   },
 * }), info);
 * assert.equal(await r.text(), "203.0.113.9 https://example.com/a");
 * ```
 */
export function useXForwarded(
  options: XForwardedOptions = {},
): DualMiddleware {
  const trusted = new Set(options.trusted ?? ["127.0.0.1", "::1"]);
  return middlewareEntry((next) => async (raw, info, record) => {
    const peer = (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname;
    if (!info || peer === undefined || !trusted.has(peer)) {
      return next(raw, info);
    }
    const headers = raw.headers;
    const forwardedFor = headers.get("x-forwarded-for");
    const forwardedHost = lastItem(headers.get("x-forwarded-host"));
    const proto = lastItem(headers.get("x-forwarded-proto"));
    const ssl = headers.get("x-forwarded-ssl");
    let client: string | undefined;
    if (forwardedFor !== null) {
      const chain = listItems(forwardedFor);
      for (let i = chain.length - 1; i >= 0; i--) {
        client = chain[i];
        if (!trusted.has(client)) break;
      }
    }
    let scheme: string | undefined;
    if (proto !== undefined && PROTO.test(proto)) scheme = proto.toLowerCase();
    else if (ssl !== null && /^on$/i.test(ssl.trim())) scheme = "https";
    if (forwardedHost !== undefined && !isValidHost(forwardedHost)) {
      return new HttpError(400, "Malformed X-Forwarded-Host header")
        .toResponse();
    }
    // The client, for every request this one becomes (derived, or passed
    // on without the info below, as fromFetch() does).
    if (client !== undefined) record.remoteAddr = client;
    let request = raw;
    if (forwardedHost !== undefined || scheme !== undefined) {
      const rewrite = (text: string) => {
        const url = new URL(text);
        if (scheme) url.protocol = scheme + ":";
        if (forwardedHost) {
          url.host = forwardedHost;
          // The URL setter keeps the old port when the new host has none.
          if (!/:\d+$/.test(forwardedHost)) url.port = "";
        }
        return url.href;
      };
      let url: string;
      try {
        url = rewrite(raw.url);
      } catch (error) {
        return unreadableTarget(error);
      }
      const newHeaders = new Headers(headers);
      if (forwardedHost) newHeaders.set("host", forwardedHost);
      let overrides = {};
      if (record.url !== undefined) {
        try {
          overrides = {
            url: rewrite(record.url),
            host: forwardedHost ?? record.host,
          };
        } catch (error) {
          return unreadableTarget(error);
        }
      }
      request = deriveRequest(raw, url, overrides, { headers: newHeaders });
    }
    // For a fetch handler of the user's. (Deno's info keeps `completed` on
    // its prototype: a spread would lose it.)
    const nextInfo = client === undefined ? info : {
      remoteAddr: { transport: "tcp" as const, hostname: client, port: 0 },
      get completed() {
        return info!.completed;
      },
    };
    return await next(request, nextInfo);
  }, "useXForwarded()");
}
