// The one canonical reading of a request target (security.md, rule 1): the
// Host is validated, the path is split on "/", "\" counts as "/", empty, "."
// and ".." segments are resolved without climbing above the root, and each
// segment is percent-decoded once with fatal UTF-8. Routing, mounting and
// static files all use the result.
//
// Deno.serve puts the raw target in request.url, unnormalised: "..", "%2e",
// "//" and "\" arrive as sent, and so does the Host header. For an
// absolute-form target ("GET http://h:1/p HTTP/1.1") the URL carries the
// target's scheme and authority instead of the Host header, as RFC 9112
// says: both are validated here like a Host header.
import { RequestParseError } from "../_message/errors.ts";

/** The parts of a request target that the library works from. */
export interface Target {
  /** `http` or `https`. */
  scheme: string;
  /** The validated authority (`host[:port]`). */
  host: string;
  /** The canonical path, percent-encoded; starts with "/". */
  path: string;
  /**
   * The canonical path's segments, decoded (no empty ones); `undefined` for
   * a simple path, whose segments are its own `/`-separated parts.
   */
  segments: string[] | undefined;
  /** The query string without its "?" ("" when absent). */
  search: string;
  /** Whether the canonical path ends with "/" (and is not just "/"). */
  trailingSlash: boolean;
}

const HOST = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;
// The characters of a simple path segment but ".", by char code.
const SAFE = new Uint8Array(128);
for (
  const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
) {
  SAFE[c.charCodeAt(0)] = 1;
}
for (const c of "_~!$&'()*+,;=:@-") SAFE[c.charCodeAt(0)] = 1;

/**
 * Whether a raw path needs no work: "/"-separated segments of safe
 * characters, none empty or starting with "." (so no "." or ".."), no "%"
 * and no "\\"; a trailing "/" allowed. The same test as the regex
 * `^(?:\/[A-Za-z0-9_~!$&'()*+,;=:@-][A-Za-z0-9._~!$&'()*+,;=:@-]*)*\/?$`,
 * as a loop: on the short paths of most requests, a regex call costs more.
 */
export function isSimplePath(path: string): boolean {
  const n = path.length;
  if (n === 0) return true;
  if (path.charCodeAt(0) !== 47) return false;
  let i = 0;
  while (i < n) {
    i++; // past "/"
    if (i === n) return true;
    const first = path.charCodeAt(i);
    if (first >= 128 || SAFE[first] === 0) return false;
    for (i++; i < n; i++) {
      const c = path.charCodeAt(i);
      if (c === 47) break;
      if (c !== 46 && (c >= 128 || SAFE[c] === 0)) return false;
    }
  }
  return true;
}
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
// What is percent-encoded in a canonical path segment, and in a path.
const SEGMENT_UNSAFE = /[^A-Za-z0-9._~!$&'()*+,;=:@-]/gu;
const PATH_UNSAFE = /[^A-Za-z0-9._~!$&'()*+,;=:@/-]/gu;
const encodeChar = (c: string) => encodeURIComponent(c);

/** Percent-encodes decoded text for one path segment (`/` included). */
export function encodeSegment(text: string): string {
  return text.replace(SEGMENT_UNSAFE, encodeChar);
}

/** Percent-encodes a decoded path, keeping `/`. */
export function encodePathText(path: string): string {
  return path.replace(PATH_UNSAFE, encodeChar);
}

// A host the URL parser reads as an IPv4 or IPv6 address (and may reject).
const ADDRESS_LIKE = /^\[|(?:^|\.)(?:\d|0x)[^.]*\.?$/i;

/**
 * Whether `host` is a valid `host[:port]`: a name, an IPv4 address or a
 * bracketed IPv6 address that the URL parser accepts, and a port up to
 * 65535.
 */
export function isValidHost(host: string): boolean {
  // Most requests name the host the last one named.
  if (host === lastValidHost) return true;
  let valid = validHosts.get(host);
  if (valid === undefined) {
    valid = checkHost(host);
    // Hosts repeat from request to request: remember a bounded number.
    if (validHosts.size >= 1024) validHosts.clear();
    validHosts.set(host, valid);
  }
  if (valid) lastValidHost = host;
  return valid;
}

let lastValidHost: string | undefined;

const validHosts = new Map<string, boolean>();

function checkHost(host: string): boolean {
  const match = HOST.exec(host);
  if (match === null) return false;
  if (match[1] !== undefined && Number(match[1]) > 65535) return false;
  const name = match[1] === undefined
    ? host
    : host.slice(0, host.length - match[1].length - 1);
  return !ADDRESS_LIKE.test(name) || URL.canParse(`http://${name}/`);
}

/**
 * Reads the target of a web request. Throws `RequestParseError` (400) for a
 * malformed Host, a malformed authority, or a path with a bad escape,
 * invalid UTF-8 or NUL.
 */
export function parseTarget(url: string, hostHeader: string | null): Target {
  if (hostHeader !== null && hostHeader !== "" && !isValidHost(hostHeader)) {
    throw new RequestParseError("Malformed Host header");
  }
  // Most targets start "http://".
  const plainHttp = url.charCodeAt(4) === 0x3a && url.startsWith("http");
  const schemeEnd = plainHttp ? 4 : url.indexOf("://");
  const scheme = plainHttp ? "http" : url.slice(0, schemeEnd);
  const start = schemeEnd + 3;
  let end: number;
  let host: string;
  if (
    hostHeader && url.startsWith(hostHeader, start) &&
    url.charCodeAt(start + hostHeader.length) === 0x2f
  ) {
    // The common case: the URL's authority is the Host header, checked.
    host = hostHeader;
    end = start + hostHeader.length;
  } else {
    end = start;
    while (end < url.length) {
      const c = url.charCodeAt(end);
      if (c === 0x2f || c === 0x3f || c === 0x23) break; // "/", "?", "#"
      end++;
    }
    host = url.slice(start, end);
    if (host !== hostHeader && !isValidHost(host)) {
      throw new RequestParseError("Malformed Host header");
    }
  }
  let queryAt = url.indexOf("?", end);
  const hashAt = url.indexOf("#", end);
  if (hashAt !== -1 && (queryAt === -1 || hashAt < queryAt)) queryAt = -1;
  const pathEnd = queryAt !== -1
    ? queryAt
    : hashAt !== -1
    ? hashAt
    : url.length;
  const rawPath = url.slice(end, pathEnd) || "/";
  const search = queryAt === -1
    ? ""
    : url.slice(queryAt + 1, hashAt > queryAt ? hashAt : url.length);
  if (isSimplePath(rawPath)) {
    // Most paths: one object, no copy of the canonical one.
    return {
      scheme,
      host,
      search,
      path: rawPath,
      segments: undefined,
      trailingSlash: simpleTrailingSlash(rawPath),
    };
  }
  const canonical = resolvePath(rawPath);
  return {
    scheme,
    host,
    search,
    path: canonical.path,
    segments: canonical.segments,
    trailingSlash: canonical.trailingSlash,
  };
}

/**
 * The canonical form of a raw path: see the module comment. Throws
 * `RequestParseError` for a bad escape, invalid UTF-8 or NUL.
 */
export function canonicalPath(
  rawPath: string,
): { path: string; segments: string[] | undefined; trailingSlash: boolean } {
  if (isSimplePath(rawPath)) {
    const trailingSlash = simpleTrailingSlash(rawPath);
    return { path: rawPath, segments: undefined, trailingSlash };
  }
  return resolvePath(rawPath);
}

/** Whether a simple path ends with "/" (and is not just "/"). */
function simpleTrailingSlash(rawPath: string): boolean {
  return rawPath.length > 1 && rawPath.charCodeAt(rawPath.length - 1) === 0x2f;
}

/** `canonicalPath` for a path that is not simple. */
function resolvePath(
  rawPath: string,
): { path: string; segments: string[]; trailingSlash: boolean } {
  if (!rawPath.startsWith("/") && !rawPath.startsWith("\\")) {
    throw new RequestParseError("Malformed request target");
  }
  if (!rawPath.isWellFormed()) {
    throw new RequestParseError("Malformed path: invalid UTF-8");
  }
  const parts = rawPath.split(/[/\\]/);
  const encoded: string[] = [];
  const decoded: string[] = [];
  for (const part of parts) {
    if (part === "") continue;
    const text = decodeSegment(part);
    if (text === ".") continue;
    if (text === "..") {
      encoded.pop();
      decoded.pop();
      continue;
    }
    encoded.push(encodeSegment(text));
    decoded.push(text);
  }
  const last = parts[parts.length - 1];
  const endsInDir = last === "" || /^(?:\.|%2e){1,2}$/i.test(last);
  const trailingSlash = encoded.length > 0 && endsInDir;
  const path = "/" + encoded.join("/") + (trailingSlash ? "/" : "");
  return { path, segments: decoded, trailingSlash };
}

/** Decodes one encoded segment with fatal UTF-8; throws a 400 when it can't. */
export function decodeSegment(segment: string): string {
  if (!segment.includes("%")) {
    if (segment.includes("\0")) {
      throw new RequestParseError("Malformed path: NUL byte");
    }
    return segment;
  }
  if (BAD_ESCAPE.test(segment)) {
    throw new RequestParseError("Malformed path: bad percent-escape");
  }
  let text: string;
  try {
    text = decodeURIComponent(segment);
  } catch {
    throw new RequestParseError("Malformed path: invalid UTF-8");
  }
  if (text.includes("\0")) {
    throw new RequestParseError("Malformed path: NUL byte");
  }
  return text;
}
