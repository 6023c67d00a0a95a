// `methodOverride()`: an HTML form's POST taken as PUT, PATCH or DELETE.
import { HttpError } from "../_message/errors.ts";
import type { RequestLimits } from "../_message/limits.ts";
import { deriveRequest, sharedOf } from "../_message/record.ts";
import { Request } from "../_message/request.ts";
import { type DualMiddleware, middlewareEntry } from "../_handler.ts";

/** Options of {@linkcode methodOverride}. */
export interface MethodOverrideOptions {
  /**
   * The form field that names the method.
   * @default {"_method"}
   */
  field?: string;
  /**
   * The header that names the method.
   * @default {"X-HTTP-Method-Override"}
   */
  header?: string;
  /**
   * The limits the form is read within, to find the field. The body is read
   * here, before the app's own limits apply: give the ones the app uses
   * when they are stricter than the defaults.
   * @default {DEFAULT_LIMITS}
   */
  limits?: RequestLimits;
}

const ALLOWED = new Set(["PUT", "PATCH", "DELETE"]);

/**
 * A middleware that lets an HTML form, which can only GET or POST, act as
 * PUT, PATCH or DELETE: a POST whose `X-HTTP-Method-Override` header or,
 * failing that, whose `_method` form field (urlencoded or multipart) says
 * `PUT`, `PATCH` or `DELETE` (in any case) goes on with that method, so it
 * reaches the routes of that method. Any other value, and any other method
 * than POST, pass unchanged (a GET cannot become a DELETE, nor a POST a
 * `CONNECT`).
 *
 * The form is read through the Pesto {@linkcode Request}, which keeps what
 * it read for every request derived from this one: the handler reads the
 * same form (`request.form()`, `validate()`, the files), a DELETE included,
 * whose form is otherwise its query. Only a urlencoded or multipart body is
 * read, and only when the header says nothing; a body that breaks a limit
 * or is malformed is answered here with its error (413, 400, 408). The
 * query string is never looked at.
 *
 * @param options The field and header names, and the limits to read the
 *   form within.
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { compose, DispatcherApp, methodOverride, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/notes/<id:int>", {
 *   PUT: async (request, { id }) => new Response(`saved ${id}: ${await request.get("title")}`),
 *   DELETE: (_request, { id }) => new Response(`deleted ${id}`),
 * });
 * const fetch = compose(methodOverride())(app);
 * const post = (body: string) =>
 *   fetch(new Request("http://x.test/notes/7", {
 *     method: "POST",
 *     body,
 *     headers: { "content-type": "application/x-www-form-urlencoded" },
 *   }));
 * assert.equal(await (await post("_method=PUT&title=Toast")).text(), "saved 7: Toast");
 * assert.equal(await (await post("_method=delete")).text(), "deleted 7");
 * ```
 */
export function methodOverride(
  options: MethodOverrideOptions = {},
): DualMiddleware {
  const field = options.field ?? "_method";
  const header = options.header ?? "X-HTTP-Method-Override";
  const limits = options.limits;
  return middlewareEntry((next) => async (raw, info, record) => {
    if (raw.method !== "POST") return next(raw, info);
    let method = allowed(raw.headers.get(header));
    if (method === undefined) {
      const request = new Request(raw, { info, limits });
      const type = request.contentType;
      if (
        type === "application/x-www-form-urlencoded" ||
        type === "multipart/form-data"
      ) {
        let value;
        try {
          value = (await request.form()).get(field);
        } catch (error) {
          if (error instanceof HttpError) return error.toResponse();
          throw error;
        }
        if (typeof value === "string") method = allowed(value);
      }
    }
    if (method === undefined) return next(raw, info);
    sharedOf(record).originalMethod = raw.method;
    const derived = deriveRequest(raw, raw.url, {}, { method });
    return await next(derived, info);
  }, "methodOverride()");
}

/** The method named by `value` when it may override POST, upper case. */
function allowed(value: string | null): string | undefined {
  if (value === null) return undefined;
  const method = value.trim().toUpperCase();
  return ALLOWED.has(method) ? method : undefined;
}
