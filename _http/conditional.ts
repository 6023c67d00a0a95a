// Conditional requests (RFC 9110, section 13): entity tags, HTTP dates, and
// the evaluation of the four preconditions in the RFC's order. Used by
// caching.ts and static.ts.

/** One entity tag of a list. */
export interface EntityTag {
  /** Whether it is a weak validator (`W/"..."`). */
  weak: boolean;
  /** The opaque tag, without quotes. */
  tag: string;
}

// An entity-tag: optional W/, then a quoted run of etagc characters.
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;

/**
 * Parses an `If-Match` / `If-None-Match` value: `"*"`, or the list of valid
 * entity tags in it (malformed members are skipped).
 */
export function parseEntityTags(header: string): "*" | EntityTag[] {
  if (header.trim() === "*") return "*";
  const tags: EntityTag[] = [];
  // Commas split the list, except inside a tag's quotes (etagc allows ",").
  for (const member of header.match(/(?:[^,"]|"[^"]*"?)+/g) ?? []) {
    const match = ENTITY_TAG.exec(member.trim());
    if (match) tags.push({ weak: match[1] !== undefined, tag: match[2] });
  }
  return tags;
}

/** Parses one entity tag (an `ETag` value). */
export function parseEntityTag(value: string): EntityTag | undefined {
  const match = ENTITY_TAG.exec(value.trim());
  return match ? { weak: match[1] !== undefined, tag: match[2] } : undefined;
}

/** Whether `etag` is in `list`, with the strong or the weak comparison. */
export function tagsMatch(
  list: "*" | EntityTag[],
  etag: EntityTag | undefined,
  strong: boolean,
): boolean {
  if (etag === undefined) return false;
  if (list === "*") return true;
  return list.some((t) =>
    t.tag === etag.tag && (!strong || (!t.weak && !etag.weak))
  );
}

const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";
const IMF_FIXDATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;
const RFC850 =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d\d)-(\w{3})-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/;
const ASCTIME =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\w{3}) ( \d|\d\d) (\d\d):(\d\d):(\d\d) (\d{4})$/;

/**
 * Parses an HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime
 * forms) to milliseconds since the epoch; `undefined` when invalid.
 */
export function parseHttpDate(text: string): number | undefined {
  let day: string, month: string, year: number;
  let time: [string, string, string];
  let m = IMF_FIXDATE.exec(text.trim());
  if (m) {
    [day, month, year, time] = [m[1], m[2], Number(m[3]), [m[4], m[5], m[6]]];
  } else if ((m = RFC850.exec(text.trim()))) {
    const yy = Number(m[3]);
    // RFC 9110: a two-digit year more than 50 years ahead is in the past.
    const now = new Date().getUTCFullYear();
    let full = 2000 + yy;
    if (full > now + 50) full -= 100;
    [day, month, year, time] = [m[1], m[2], full, [m[4], m[5], m[6]]];
  } else if ((m = ASCTIME.exec(text.trim()))) {
    [day, month, year, time] = [
      m[2].trim(),
      m[1],
      Number(m[6]),
      [m[3], m[4], m[5]],
    ];
  } else return undefined;
  const monthIndex = MONTHS.indexOf(month);
  if (monthIndex === -1 || monthIndex % 3 !== 0) return undefined;
  const ms = Date.UTC(
    year,
    monthIndex / 3,
    Number(day),
    Number(time[0]),
    Number(time[1]),
    Number(time[2]),
  );
  const check = new Date(ms);
  if (Number.isNaN(ms) || check.getUTCDate() !== Number(day)) return undefined;
  return ms;
}

/** Formats a time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`). */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** What the server knows of the selected representation. */
export interface Validators {
  /** Its entity tag (`"..."` or `W/"..."`), if any. */
  etag?: string | null;
  /** Its modification time in ms, if any. */
  lastModified?: number | null;
  /** Whether there is a current representation at all. */
  exists: boolean;
}

/** Whether a request carries any of the four preconditions. */
export function hasPreconditions(headers: Headers): boolean {
  return headers.has("if-match") || headers.has("if-none-match") ||
    headers.has("if-modified-since") || headers.has("if-unmodified-since");
}

/**
 * Evaluates the preconditions of a request in the order of RFC 9110,
 * section 13.2.2: the status to answer instead (304 or 412), or
 * `undefined` to go on.
 */
export function evaluatePreconditions(
  method: string,
  headers: Headers,
  validators: Validators,
): 304 | 412 | undefined {
  const etag = validators.etag ? parseEntityTag(validators.etag) : undefined;
  const seconds = validators.lastModified == null
    ? undefined
    : Math.floor(validators.lastModified / 1000) * 1000;
  const ifMatch = headers.get("if-match");
  if (ifMatch !== null) {
    const list = parseEntityTags(ifMatch);
    const ok = list === "*" ? validators.exists : tagsMatch(list, etag, true);
    if (!ok) return 412;
  } else {
    const since = headers.get("if-unmodified-since");
    const date = since === null ? undefined : parseHttpDate(since);
    if (date !== undefined && seconds !== undefined && seconds > date) {
      return 412;
    }
  }
  const safe = method === "GET" || method === "HEAD";
  const ifNoneMatch = headers.get("if-none-match");
  if (ifNoneMatch !== null) {
    const list = parseEntityTags(ifNoneMatch);
    const matched = list === "*"
      ? validators.exists
      : tagsMatch(list, etag, false);
    if (matched) return safe ? 304 : 412;
  } else if (safe) {
    const since = headers.get("if-modified-since");
    const date = since === null ? undefined : parseHttpDate(since);
    if (date !== undefined && seconds !== undefined && seconds <= date) {
      return 304;
    }
  }
  return undefined;
}

// Representation metadata a 304 does not repeat (RFC 9110, 15.4.5).
const NOT_ON_304 = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-range",
  "transfer-encoding",
];

/** The headers of a 304 made from those of the full response. */
export function notModifiedHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of NOT_ON_304) out.delete(name);
  return out;
}
