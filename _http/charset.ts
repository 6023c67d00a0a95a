// Text in requests: charset decoders and the parameters of header values
// such as `Content-Type` and `Content-Disposition`.
import { RequestParseError } from "../_message/errors.ts";

const decoders = new Map<string, TextDecoder>();
const formDecoders = new Map<string, TextDecoder>();

/**
 * A lenient decoder for `charset` (invalid bytes become U+FFFD, a leading
 * byte-order mark is dropped); a 400 for a charset `TextDecoder` does not
 * know.
 */
export function decoderFor(charset: string): TextDecoder {
  return cachedDecoder(decoders, charset, false);
}

/**
 * A lenient decoder for urlencoded text in `charset` that keeps a
 * byte-order mark: the WHATWG urlencoded parser decodes "without BOM", so a
 * BOM at the start of a body is part of the first name, and an escaped one
 * (`%EF%BB%BF`) part of its name or value. A 400 for an unknown charset.
 */
export function formDecoderFor(charset: string): TextDecoder {
  return cachedDecoder(formDecoders, charset, true);
}

function cachedDecoder(
  cache: Map<string, TextDecoder>,
  charset: string,
  ignoreBOM: boolean,
): TextDecoder {
  const key = charset.toLowerCase();
  let decoder = cache.get(key);
  if (!decoder) {
    try {
      decoder = new TextDecoder(charset, { ignoreBOM });
    } catch {
      throw new RequestParseError(`Unknown charset "${charset.slice(0, 40)}"`);
    }
    if (cache.size < 64) cache.set(key, decoder);
  }
  return decoder;
}

/** Bytes carried in a string, one char per byte (ISO-8859-1). */
export function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/**
 * The `charset` parameter of a `Content-Type` value, when it has one made of
 * the characters charset names use; `undefined` otherwise.
 */
export function charsetParam(contentType: string): string | undefined {
  return CHARSET_PARAM.exec(contentType)?.[1];
}

const CHARSET_PARAM = /;\s*charset\s*=\s*"?([\w.:-]+)"?/i;

/**
 * The parameters of a header value such as `Content-Type` or
 * `Content-Disposition` (`type; a=b; c="d \"e\""`): the lower-cased type and
 * the parameters by lower-cased name (the first of a repeated name wins).
 * Quoted values lose their quotes, and their backslash escapes unless
 * `literal` (browsers send file names such as `C:\x.txt` as they are, and
 * escape `"` as `%22`). Never throws.
 */
export function parseHeaderParams(
  value: string,
  literal = false,
): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  let i = value.indexOf(";");
  const type = (i === -1 ? value : value.slice(0, i)).trim().toLowerCase();
  while (i !== -1 && i < value.length) {
    i++;
    const eq = value.indexOf("=", i);
    if (eq === -1) break;
    const name = value.slice(i, eq).trim().toLowerCase();
    let j = eq + 1;
    while (value[j] === " " || value[j] === "\t") j++;
    let text = "";
    if (value[j] === '"') {
      j++;
      while (j < value.length && value[j] !== '"') {
        if (!literal && value[j] === "\\" && j + 1 < value.length) j++;
        text += value[j++];
      }
      i = value.indexOf(";", j);
    } else {
      const end = value.indexOf(";", j);
      text = (end === -1 ? value.slice(j) : value.slice(j, end)).trim();
      i = end;
    }
    if (name !== "" && !params.has(name)) params.set(name, text);
  }
  return { type, params };
}
