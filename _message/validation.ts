// Validating request data with any Standard Schema v1 schema
// (`request.validate()`), and the 422 that answers a value that fails.
import type { MultiDict } from "../multidict.ts";
import { requestContext } from "../_runtime/async_context.ts";
import { preferredMediaType } from "../_http/accept.ts";
import { HttpError, type HttpErrorOptions } from "./errors.ts";
import { Response } from "./response.ts";
import type { StandardSchemaV1 } from "./standard_schema.ts";

/** Where `request.validate()` takes the value from. */
export type ValidationSource = "query" | "form" | "json";

/** Options of `request.validate(schema, options)`. */
export interface ValidateOptions {
  /**
   * Where the value comes from: `"query"` (the query string), `"form"`
   * (`request.form()`: the urlencoded or multipart body) or `"json"` (the
   * body parsed as JSON).
   * @default {"query" for GET, HEAD and DELETE; "json" for a body whose
   * type is `application/json` or ends in `+json`; "form" otherwise}
   */
  from?: ValidationSource;
}

/** One thing wrong with a validated value. */
export interface ValidationIssue {
  /** What is wrong, from the schema, for people. */
  message: string;
  /**
   * Where in the value, as keys from its root (`["tags", 1]`); absent for
   * the value as a whole.
   */
  path?: PropertyKey[];
}

/** Something with the headers of a request: a Pesto or a web `Request`. */
export interface HasHeaders {
  /** The request headers. */
  readonly headers: Headers;
}

/** Options of {@linkcode ValidationError}. */
export interface ValidationErrorOptions extends HttpErrorOptions {
  /**
   * The message (the `error` of the JSON body, the first line of the text).
   * @default {"Validation failed"}
   */
  message?: string;
  /**
   * The request whose `Accept` header chooses the body of
   * `toResponse()` (JSON or text).
   * @default {the current request, when there is one (see currentRequest())}
   */
  request?: HasHeaders;
}

const NOT_READ = Symbol("not read");

/**
 * 422 Unprocessable Content: a value the request sent did not pass its
 * schema. `request.validate()` throws it with the schema's issues; a
 * handler may throw one itself.
 *
 * Its response (what a handler that throws it answers) is JSON,
 * `{ "error": message, "issues": [{ "message", "path"? }] }`, when the
 * request's `Accept` header prefers `application/json` to `text/plain`
 * (see `request.accepts()`: `Accept: application/json`, or a client that
 * lists it first), and plain text otherwise (one line for the message,
 * then one per issue: `tags[1]: Invalid input`), with `Vary: Accept`. The
 * request is the one given to {@linkcode ValidationError.prototype.toResponse},
 * else the one given when the error was made, else the current request when
 * it was made: `toResponse()` keeps the signature of
 * {@linkcode HttpError.prototype.toResponse}, so the library's own handling
 * of thrown errors needs nothing more. An app's `errorPage` is given the
 * error (and its `issues`) to render as it likes.
 *
 * @example
 * ```ts
 * import { ValidationError } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const error = new ValidationError([{ message: "Required", path: ["title"] }]);
 * assert.equal(error.status, 422);
 *
 * const api = new Request("http://x.test/", { headers: { accept: "application/json" } });
 * const json = error.toResponse(api);
 * assert.equal(json.contentType, "application/json");
 * assert.deepEqual(await json.json(), {
 *   error: "Validation failed",
 *   issues: [{ message: "Required", path: ["title"] }],
 * });
 *
 * const text = error.toResponse(new Request("http://x.test/"));
 * assert.equal(await text.text(), "Validation failed\ntitle: Required\n");
 * ```
 */
export class ValidationError extends HttpError {
  /** What was wrong, as the schema said it, with paths as keys. */
  readonly issues: readonly ValidationIssue[];
  #accept: string | null | typeof NOT_READ;

  /**
   * Creates the error.
   *
   * @param issues The schema's issues (Standard Schema issues, whose path
   *   steps may be `{ key }` objects, or {@linkcode ValidationIssue}s).
   * @param options `message`, the `request` whose `Accept` chooses the
   *   body, `cause` and extra `headers`.
   *
   * @example
   * ```ts
   * import { ValidationError } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const error = new ValidationError([
   *   { message: "Expected a number", path: [{ key: "items" }, { key: 0 }, "qty"] },
   * ], { message: "Bad order" });
   * assert.deepEqual(error.issues, [{ message: "Expected a number", path: ["items", 0, "qty"] }]);
   * assert.equal(error.message, "Bad order");
   * ```
   */
  constructor(
    issues: Iterable<StandardSchemaV1.Issue | ValidationIssue>,
    options: ValidationErrorOptions = {},
  ) {
    super(422, options.message ?? "Validation failed", options);
    this.issues = Object.freeze([...issues].map(plainIssue));
    this.#accept = acceptOf(
      options.request ??
        requestContext.getStore() as unknown as HasHeaders | undefined,
    );
  }

  /**
   * The 422 response: JSON (`{ error, issues }`) for a request whose
   * `Accept` prefers `application/json`, else plain text; both with the
   * error's headers, `Vary: Accept` and `X-Content-Type-Options: nosniff`.
   *
   * @param request The request to answer, for its `Accept` header; by
   *   default the one the error was made for.
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { ValidationError } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const error = new ValidationError([{ message: "Too short", path: ["name"] }]);
   * const browser = new Request("http://x.test/", {
   *   headers: { accept: "text/html,application/xhtml+xml,*\/*;q=0.8" },
   * });
   * const r = error.toResponse(browser);
   * assert.equal(r.status, 422);
   * assert.equal(r.contentType, "text/plain;charset=UTF-8");
   * assert.equal(r.getHeader("vary"), "Accept");
   * ```
   */
  override toResponse(request?: HasHeaders): Response {
    const accept = request !== undefined ? acceptOf(request) : this.#accept;
    const json = accept !== NOT_READ &&
      preferredMediaType(accept, TYPES) === "application/json";
    const extra = { "Vary": "Accept", "X-Content-Type-Options": "nosniff" };
    if (json) {
      return Response.json({
        error: this.message,
        issues: this.issues.map(jsonIssue),
      }, { status: this.status, headers: this.headers }).addHeaders(extra);
    }
    let text = this.message + "\n";
    for (const issue of this.issues) {
      text += issue.path?.length
        ? `${formatPath(issue.path)}: ${issue.message}\n`
        : `${issue.message}\n`;
    }
    return new Response(text, {
      status: this.status,
      headers: this.headers,
      contentType: "text/plain",
    }).addHeaders(extra);
  }
}

// Text first: on a tie (no Accept, */*) the answer is plain text.
const TYPES = ["text/plain", "application/json"];

function acceptOf(
  request: HasHeaders | undefined,
): string | null | typeof NOT_READ {
  const headers = request?.headers;
  return headers instanceof Headers ? headers.get("accept") : NOT_READ;
}

function plainIssue(
  issue: StandardSchemaV1.Issue | ValidationIssue,
): ValidationIssue {
  const message = String(issue.message);
  if (issue.path === undefined || issue.path === null) return { message };
  const path = [...issue.path].map((step) =>
    typeof step === "object" && step !== null ? step.key : step
  );
  return { message, path };
}

/** An issue as JSON can hold it: symbol keys become their description. */
function jsonIssue(issue: ValidationIssue): ValidationIssue {
  if (issue.path === undefined) return issue;
  return {
    message: issue.message,
    path: issue.path.map((key) =>
      typeof key === "symbol" ? key.description ?? "" : key
    ),
  };
}

/** A path as JavaScript writes it: `items[0].qty`, `["a b"]`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "symbol") out += `[${String(key)}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) out += out ? "." + key : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/**
 * A form or query as a plain object: a key sent once gives its value, a
 * key sent more than once the array of its values, in order; files stay
 * `FileUpload`s. Every key is an own property (`__proto__` included).
 */
export function formObject<V>(
  form: MultiDict<V>,
): Record<string, V | V[]> {
  const out: Record<string, V | V[]> = {};
  for (const [key, values] of form.lists()) {
    const value = values.length === 1 ? values[0] : values;
    if (key === "__proto__") {
      Object.defineProperty(out, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[key] = value;
  }
  return out;
}

/**
 * Validates `value` with a Standard Schema v1 `schema`.
 *
 * @throws {TypeError} When `schema` does not implement Standard Schema v1.
 * @throws {ValidationError} When the value does not pass, for `request`.
 */
export async function validateValue<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  request: HasHeaders,
): Promise<StandardSchemaV1.InferOutput<S>> {
  const standard = (schema as Partial<StandardSchemaV1> | null | undefined)
    ?.["~standard"];
  if (
    typeof standard !== "object" || standard === null ||
    standard.version !== 1 || typeof standard.validate !== "function"
  ) {
    throw new TypeError(
      'Cannot validate: the schema does not implement Standard Schema v1 (no "~standard" property of version 1)',
    );
  }
  const result = await standard.validate(value);
  if (result.issues !== undefined) {
    throw new ValidationError(result.issues, { request });
  }
  return result.value as StandardSchemaV1.InferOutput<S>;
}
