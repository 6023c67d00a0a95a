// The `Accept` header (RFC 9110 section 12.5.1) and proactive negotiation of a
// media type, as jshttp/negotiator does it (Express's `req.accepts()`).
//
// Each media type offered gets the weight of the most specific range of the
// header that matches it (`text/html;level=1` over `text/html` over
// `text/*` over `*/*`; among equally specific ranges, the highest weight); a
// weight of 0, or no matching range, makes it unacceptable. The acceptable
// ones are ranked by weight, then by how specific their range is, then by
// where that range stands in the header (clients list what they prefer
// first), then in the order they were offered. Parsing never throws: a
// malformed range, or one with a malformed weight, is skipped.

/** One media range of an `Accept` header. */
export interface MediaRange {
  /** The type, lower case; `*` for any. */
  type: string;
  /** The subtype, lower case; `*` for any. */
  subtype: string;
  /** The parameters before the weight: names and values lower case. */
  params: Map<string, string>;
  /** The weight, 0 to 1. */
  q: number;
  /** The range's position in the header. */
  index: number;
}

// RFC 9110 section 5.6.2: token = 1*tchar.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 9110 section 12.4.2: qvalue, with leading or trailing whitespace tolerated.
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Splits `text` at `separator` outside double-quoted strings (a `\` in one
 * escapes the next character).
 */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** A parameter value: a token, or a quoted string unquoted. */
function paramValue(text: string): string | undefined {
  if (text.startsWith('"')) {
    if (text.length < 2 || !text.endsWith('"')) return undefined;
    return text.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  return TOKEN.test(text) ? text : undefined;
}

/** `type/subtype` of a media type or range, lower case, if well formed. */
function typeAndSubtype(text: string): [string, string] | undefined {
  const slash = text.indexOf("/");
  if (slash === -1) return undefined;
  const type = text.slice(0, slash).trim();
  const subtype = text.slice(slash + 1).trim();
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  return [type.toLowerCase(), subtype.toLowerCase()];
}

/**
 * The media ranges of an `Accept` header, in the order sent; malformed ones
 * are left out. Parameters after the weight (RFC 7231's accept-ext) are
 * ignored, and a parameter named twice keeps its last value.
 */
export function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  let index = 0;
  for (const element of splitOutsideQuotes(header, ",")) {
    if (element.trim() === "") continue;
    const [head, ...rest] = splitOutsideQuotes(element, ";");
    const names = typeAndSubtype(head);
    if (names === undefined) continue;
    const [type, subtype] = names;
    if (type === "*" && subtype !== "*") continue;
    const params = new Map<string, string>();
    let q = 1;
    let valid = true;
    for (const param of rest) {
      const eq = param.indexOf("=");
      if (eq === -1) continue; // a bare name means nothing here
      const name = param.slice(0, eq).trim().toLowerCase();
      const value = paramValue(param.slice(eq + 1).trim());
      if (name === "q") {
        if (value === undefined || !QVALUE.test(value)) valid = false;
        else q = Number(value);
        break;
      }
      if (!TOKEN.test(name) || value === undefined) continue;
      params.set(name, value.toLowerCase());
    }
    if (!valid) continue;
    ranges.push({ type, subtype, params, q, index: index++ });
  }
  return ranges;
}

/** A media type offered by the server, parsed. */
interface Offer {
  type: string;
  subtype: string;
  params: Map<string, string>;
}

/**
 * Parses a media type the server offers.
 *
 * @throws {TypeError} When it is not `type/subtype` with parameters.
 */
// Offers are the app's own constants, parsed once each (a bounded cache: an
// app may also offer what a client sent).
const parsedOffers = new Map<string, Offer>();

/** `text` parsed by {@linkcode parseOffer}, once. */
function offerOf(text: string): Offer {
  let offer = parsedOffers.get(text);
  if (offer === undefined) {
    offer = parseOffer(text);
    if (parsedOffers.size < 256) parsedOffers.set(text, offer);
  }
  return offer;
}

function parseOffer(text: string): Offer {
  const [head, ...rest] = splitOutsideQuotes(text, ";");
  const names = typeAndSubtype(head);
  const params = new Map<string, string>();
  let valid = names !== undefined;
  for (const param of rest) {
    const eq = param.indexOf("=");
    const name = param.slice(0, eq).trim().toLowerCase();
    const value = eq === -1
      ? undefined
      : paramValue(param.slice(eq + 1).trim());
    if (!TOKEN.test(name) || value === undefined) valid = false;
    else params.set(name, value.toLowerCase());
  }
  if (!valid) {
    throw new TypeError(
      `Cannot negotiate the media type "${text}": give one such as "text/html" or "application/json"`,
    );
  }
  return { type: names![0], subtype: names![1], params };
}

/**
 * How specifically `range` matches `offer`: a tuple compared in order
 * (whole type named, parameters named), or `undefined` when it does not.
 */
function specificity(range: MediaRange, offer: Offer): number | undefined {
  let s = 0;
  if (range.type !== "*") {
    if (range.type !== offer.type) return undefined;
    s += 1;
  }
  if (range.subtype !== "*") {
    if (range.subtype !== offer.subtype) return undefined;
    s += 1;
  }
  for (const [name, value] of range.params) {
    if (offer.params.get(name) !== value) return undefined;
  }
  // Every parameter of the range counts after the type and subtype.
  return s * 1000 + range.params.size;
}

interface Ranked {
  text: string;
  q: number;
  s: number;
  index: number;
  given: number;
}

/**
 * The media types of `offered` that the `Accept` header accepts, the most
 * preferred first (see the module comment for the order). With no header
 * (`null` or `undefined`) every type is acceptable, in the order given; an
 * empty header accepts none.
 *
 * @throws {TypeError} When an offered type is not a media type.
 */
export function acceptableMediaTypes(
  header: string | null | undefined,
  offered: readonly string[],
): string[] {
  const offers = offered.map(offerOf);
  if (header === null || header === undefined) return [...offered];
  const ranges = parseAccept(header);
  const ranked: Ranked[] = [];
  offers.forEach((offer, given) => {
    let best: MediaRange | undefined;
    let bestS = -1;
    for (const range of ranges) {
      const s = specificity(range, offer);
      if (s === undefined) continue;
      if (s > bestS || (s === bestS && range.q > best!.q)) {
        best = range;
        bestS = s;
      }
    }
    if (best !== undefined && best.q > 0) {
      ranked.push({
        text: offered[given],
        q: best.q,
        s: bestS,
        index: best.index,
        given,
      });
    }
  });
  ranked.sort((a, b) =>
    b.q - a.q || b.s - a.s || a.index - b.index || a.given - b.given
  );
  return ranked.map((r) => r.text);
}

/**
 * The most preferred of `offered` for the `Accept` header, or `undefined`
 * when none is acceptable; with no header, the first offered.
 *
 * @throws {TypeError} When an offered type is not a media type.
 */
export function preferredMediaType(
  header: string | null | undefined,
  offered: readonly string[],
): string | undefined {
  return acceptableMediaTypes(header, offered)[0];
}
