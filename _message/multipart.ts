// A streaming multipart/form-data reader (RFC 7578, RFC 2046 section 5.1).
// The body is parsed chunk by chunk as it arrives: text fields are kept in
// memory within maxFieldSize, files in memory up to maxFileMemorySize and in
// a temporary file above it. Every limit is counted on the bytes that
// arrive; a malformed body is a 400, never a partial or empty form.
import { MultiDict } from "../multidict.ts";
import { release } from "../_runtime/release.ts";
import { requestHeader } from "../_runtime/served_request.ts";
import { decoderFor, parseHeaderParams } from "../_http/charset.ts";
import { decodeBytes } from "../_http/query.ts";
import { RequestParseError } from "./errors.ts";
import {
  checkDeclaredLength,
  concat,
  DeadlineReader,
  type Limit,
  readWhole,
  tooLarge,
} from "./body.ts";
import type { RequestLimits } from "./limits.ts";
import { onRequestDone, type RequestRecord } from "./record.ts";
import {
  createSpoolFile,
  type FileUpload,
  type FileUploadOptions,
  makeUpload,
  removeSpoolFile,
  spoolFailure,
  spoolWorks,
  UploadContent,
  writeSpool,
} from "./upload.ts";

type Limits = Readonly<Required<RequestLimits>>;

const CR = 13;
const LF = 10;
const DASH = 45;
// RFC 2046 bchars (a space may not end it); longer than the RFC's 70 is
// tolerated.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,199}[0-9A-Za-z'()+_,\-./:=?]$/;
const MAX_PADDING = 256;

function malformed(why: string): RequestParseError {
  return new RequestParseError(`Malformed multipart body: ${why}`);
}

/**
 * Reads a `multipart/form-data` body into a form. `charset` decodes text
 * fields that do not name their own. The temporary files are removed once
 * the response to the request (`record`) has been sent, or at once when
 * reading fails. When `ownsBody`, the body's buffers belong to this request
 * alone and are released once done with.
 */
export async function readMultipart(
  raw: globalThis.Request,
  options: {
    limits: Limits;
    charset: string;
    record: RequestRecord;
    ownsBody: boolean;
  },
): Promise<MultiDict<string | FileUpload>> {
  const { limits, charset, record, ownsBody } = options;
  const type = requestHeader(raw, "content-type") ?? "";
  const boundary = parseHeaderParams(type).params.get("boundary");
  if (!boundary) throw malformed("no boundary");
  if (!BOUNDARY.test(boundary)) throw malformed("invalid boundary");
  const total: Limit = {
    value: limits.maxMultipartSize,
    name: "maxMultipartSize",
  };
  const declared = checkDeclaredLength(raw, total, "Multipart body");
  if (declared === 0) throw malformed("no body");
  if (raw.bodyUsed) {
    throw new TypeError("Cannot read the form: the body was already read");
  }
  decoderFor(charset);
  const parser = new MultipartParser(boundary, limits, charset);
  onRequestDone(record, () => parser.dispose());
  // A body of declared length that fits the memory allowed for one file is
  // read natively in one piece: reading it through raw.body's stream costs
  // more time and grows RSS under load.
  if (declared !== undefined && declared <= limits.maxFileMemorySize) {
    try {
      const whole = await readWhole(raw, limits.bodyTimeout);
      // The uploads held in memory are views of it: it goes with them.
      if (ownsBody) parser.releaseWithUploads(whole);
      await parser.write(whole);
      return parser.end();
    } catch (error) {
      await parser.dispose();
      throw error;
    }
  }
  if (!raw.body) throw malformed("no body");
  // Chunks of a served body belong to no one else: each is released once
  // nothing holds a view of it.
  if (ownsBody) parser.releaseChunks();
  const reader = new DeadlineReader(raw.body, limits.bodyTimeout);
  let size = 0;
  try {
    while (!parser.done) {
      const chunk = await reader.read();
      if (chunk === undefined) break;
      size += chunk.byteLength;
      if (size > total.value) throw tooLarge("Multipart body", total);
      await parser.write(chunk);
    }
    return parser.end();
  } catch (error) {
    await parser.dispose();
    throw error;
  } finally {
    reader.close();
  }
}

const BODY = 0;
const AFTER_DELIMITER = 1;
const HEADERS = 2;
const DONE = 3;

/** Where the content of the current part goes. */
interface Sink {
  /** Takes some content; returns a promise when it had to wait. */
  push(bytes: Uint8Array): void | Promise<void>;
  /** The part is complete. */
  end(form: MultiDict<string | FileUpload>): void | Promise<void>;
  /** Whether it keeps views of the chunks pushed so far. */
  holding(): boolean;
}

/** The content before the first boundary: counted, then dropped. */
const PREAMBLE: Sink = { push() {}, end() {}, holding: () => false };

class FieldSink implements Sink {
  #name: string;
  #decoder: TextDecoder;
  #limit: Limit;
  #chunks: Uint8Array[] = [];
  #size = 0;

  constructor(name: string, decoder: TextDecoder, limit: Limit) {
    this.#name = name;
    this.#decoder = decoder;
    this.#limit = limit;
  }

  push(bytes: Uint8Array): void {
    this.#size += bytes.byteLength;
    if (this.#size > this.#limit.value) throw tooLarge("Field", this.#limit);
    this.#chunks.push(bytes);
  }

  end(form: MultiDict<string | FileUpload>): void {
    const bytes = concat(this.#chunks, this.#size);
    this.#chunks = [];
    form.append(this.#name, this.#decoder.decode(bytes));
  }

  holding(): boolean {
    return this.#chunks.length > 0;
  }
}

class FileSink implements Sink {
  #name: string;
  #options: FileUploadOptions;
  #parser: MultipartParser;
  #limit: Limit;
  #memory: number;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #path?: string;
  #file?: Deno.FsFile;
  // When the making of the file began (performance.now()).
  #spooledSince = 0;
  // No temporary file could be made: the content is counted, not kept.
  #discarding = false;

  constructor(
    name: string,
    options: FileUploadOptions,
    parser: MultipartParser,
    limits: Limits,
  ) {
    this.#name = name;
    this.#options = options;
    this.#parser = parser;
    this.#limit = { value: limits.maxFileSize, name: "maxFileSize" };
    this.#memory = limits.maxFileMemorySize;
  }

  push(bytes: Uint8Array): void | Promise<void> {
    this.#size += bytes.byteLength;
    if (this.#size > this.#limit.value) throw tooLarge("File", this.#limit);
    if (this.#discarding) return;
    if (this.#file) {
      return writeSpool(this.#file, bytes);
    }
    this.#chunks.push(bytes);
    if (this.#size > this.#memory) return this.#spill();
  }

  async #spill(): Promise<void> {
    this.#spooledSince = performance.now();
    const spool = this.#parser.failure
      ? undefined
      : await createSpoolFile(this.#memory).catch((error) => {
        this.#parser.failure = { error };
        return undefined;
      });
    if (!spool) {
      // The limits still decide first: the rest of the body is counted,
      // and the failure thrown at its end if no limit was exceeded.
      this.#discarding = true;
      this.#chunks = [];
      return;
    }
    const { path, file } = spool;
    await this.#parser.adopt(path, file);
    this.#path = path;
    this.#file = file;
    const chunks = this.#chunks;
    this.#chunks = [];
    const joined = concat(chunks, this.#size);
    await writeSpool(file, joined);
    if (chunks.length > 1 && this.#parser.releasing) release(joined);
  }

  end(form: MultiDict<string | FileUpload>): void {
    if (this.#discarding) return;
    if (this.#file) {
      this.#file.close();
      this.#parser.closed();
      spoolWorks(this.#spooledSince);
      const content = new UploadContent({
        path: this.#path!,
        size: this.#size,
      });
      form.append(this.#name, makeUpload(content, this.#options));
    } else {
      const chunks = this.#chunks;
      this.#chunks = [];
      let bytes = concat(chunks, this.#size);
      // A view of a chunk that will be released: the upload gets a copy.
      if (chunks.length === 1 && this.#parser.releasing) bytes = bytes.slice();
      const content = new UploadContent({ bytes });
      this.#parser.heldInMemory(content);
      form.append(this.#name, makeUpload(content, this.#options));
    }
  }

  holding(): boolean {
    return this.#chunks.length > 0;
  }
}

class MultipartParser {
  #needle: Uint8Array;
  #skip: Uint8Array;
  #limits: Limits;
  #charset: string;
  #state = BODY;
  // The delimiter is CRLF "--" boundary: a CRLF before the body lets the
  // first boundary line (with no preamble) be found like the others.
  #carry: Uint8Array | undefined = new Uint8Array([CR, LF]);
  #sink: Sink = PREAMBLE;
  #form = new MultiDict<string | FileUpload>();
  #parts = 0;
  #files = 0;
  #spooled: string[] = [];
  #open?: Deno.FsFile;
  #disposed?: Promise<void>;
  #releasing = false;
  // Chunks written but not released yet: a sink may still view them.
  #held: Uint8Array[] = [];
  // Uploads held in memory, released with the temporary files.
  #uploads: UploadContent[] = [];
  // A whole served body whose views the uploads are, released with them.
  #whole?: Uint8Array;
  /**
   * Why an upload could not be spooled to a temporary file: thrown once the
   * whole body was read within the limits.
   */
  failure?: { error: unknown };

  constructor(boundary: string, limits: Limits, charset: string) {
    const needle = Uint8Array.from(`\r\n--${boundary}`, (c) => c.charCodeAt(0));
    this.#needle = needle;
    this.#skip = new Uint8Array(256).fill(needle.byteLength);
    for (let j = 0; j < needle.byteLength - 1; j++) {
      this.#skip[needle[j]] = needle.byteLength - 1 - j;
    }
    this.#limits = limits;
    this.#charset = charset;
  }

  get done(): boolean {
    return this.#state === DONE;
  }

  /** Whether written chunks are released once nothing views them. */
  get releasing(): boolean {
    return this.#releasing;
  }

  /**
   * Releases each chunk written from now on (see `release`) as soon as no
   * part holds a view of it: for chunks that belong to no one else. The
   * uploads held in memory then own their bytes, released with them.
   */
  releaseChunks(): void {
    this.#releasing = true;
  }

  /** Releases `whole`, a body that belongs to no one else, on `dispose()`. */
  releaseWithUploads(whole: Uint8Array): void {
    this.#whole = whole;
  }

  /** Takes note of an upload held in memory, released on `dispose()`. */
  heldInMemory(upload: UploadContent): void {
    this.#uploads.push(upload);
  }

  /** Takes charge of a new temporary file, open for writing. */
  async adopt(path: string, file: Deno.FsFile): Promise<void> {
    if (this.#disposed) {
      file.close();
      await removeSpoolFile(path);
      throw malformed("request finished before its body");
    }
    this.#spooled.push(path);
    this.#open = file;
  }

  /** The temporary file open for writing was closed. */
  closed(): void {
    this.#open = undefined;
  }

  /**
   * Removes the temporary files and releases the uploads held in memory
   * (and what they view); the parser stops at its next chunk.
   */
  dispose(): Promise<void> {
    return this.#disposed ??= (async () => {
      for (const upload of this.#uploads) {
        const bytes = upload.release();
        if (bytes && this.#releasing) release(bytes);
      }
      this.#uploads = [];
      if (this.#whole) release(this.#whole);
      try {
        this.#open?.close();
      } catch { /* already closed */ }
      await Promise.all(this.#spooled.map(removeSpoolFile));
    })();
  }

  /** Parses the next chunk of the body. */
  async write(chunk: Uint8Array): Promise<void> {
    await this.#parse(chunk);
    if (!this.#releasing) return;
    this.#held.push(chunk);
    if (this.#sink.holding()) return;
    for (const held of this.#held) release(held);
    this.#held = [];
  }

  async #parse(chunk: Uint8Array): Promise<void> {
    if (this.#disposed) throw malformed("request finished before its body");
    let buf = chunk;
    if (this.#carry) {
      buf = concat(
        [this.#carry, chunk],
        this.#carry.byteLength + chunk.byteLength,
      );
      this.#carry = undefined;
    }
    let pos = 0;
    while (true) {
      if (this.#state === BODY) {
        const at = this.#find(buf, pos);
        if (at === -1) {
          const keep = this.#partialTail(buf, pos);
          if (keep > pos) {
            const wait = this.#sink.push(buf.subarray(pos, keep));
            if (wait) await wait;
          }
          if (keep < buf.byteLength) this.#carry = buf.slice(keep);
          return;
        }
        if (at > pos) {
          const wait = this.#sink.push(buf.subarray(pos, at));
          if (wait) await wait;
        }
        const wait = this.#sink.end(this.#form);
        if (wait) await wait;
        pos = at + this.#needle.byteLength;
        this.#state = AFTER_DELIMITER;
      } else if (this.#state === AFTER_DELIMITER) {
        if (buf.byteLength - pos < 2) return this.#keep(buf, pos);
        if (buf[pos] === DASH && buf[pos + 1] === DASH) {
          this.#state = DONE;
          return;
        }
        let end = pos;
        while (end < buf.byteLength && (buf[end] === 32 || buf[end] === 9)) {
          end++;
        }
        if (end - pos > MAX_PADDING) throw malformed("bad boundary line");
        if (buf.byteLength - end < 2) return this.#keep(buf, pos);
        if (buf[end] !== CR || buf[end + 1] !== LF) {
          throw malformed("bad boundary line");
        }
        pos = end + 2;
        this.#state = HEADERS;
      } else if (this.#state === HEADERS) {
        const max: Limit = {
          value: this.#limits.maxPartHeaderSize,
          name: "maxPartHeaderSize",
        };
        if (buf.byteLength - pos < 2) return this.#keep(buf, pos);
        let end: number;
        let start: number;
        if (buf[pos] === CR && buf[pos + 1] === LF) {
          end = pos;
          start = pos + 2;
        } else {
          end = findHeaderEnd(buf, pos);
          if (end === -1) {
            if (buf.byteLength - pos > max.value) {
              throw tooLarge("Part headers", max);
            }
            return this.#keep(buf, pos);
          }
          start = this.#bodyStart(buf, end);
          if (start === -1) return this.#keep(buf, pos);
        }
        if (end - pos > max.value) throw tooLarge("Part headers", max);
        this.#startPart(buf.subarray(pos, end));
        pos = start;
        this.#state = BODY;
      } else {
        return;
      }
    }
  }

  end(): MultiDict<string | FileUpload> {
    if (this.#state !== DONE) {
      throw malformed(
        this.#sink === PREAMBLE && this.#parts === 0
          ? "boundary not found"
          : "unterminated part",
      );
    }
    if (this.failure) throw spoolFailure(this.failure.error);
    return this.#form;
  }

  /**
   * Where the body of a part whose headers end with the CRLF CRLF at `end`
   * starts: after it, or at its second CRLF when the delimiter follows at
   * once (a part without a body: its last header line's CRLF, then the
   * delimiter, as Werkzeug writes an empty field); -1 when the bytes that
   * tell are still to come.
   */
  #bodyStart(buf: Uint8Array, end: number): number {
    const needle = this.#needle;
    const at = end + 2;
    const seen = Math.min(buf.byteLength - at, needle.byteLength);
    for (let k = 0; k < seen; k++) {
      if (buf[at + k] !== needle[k]) return end + 4;
    }
    return seen === needle.byteLength ? at : -1;
  }

  #keep(buf: Uint8Array, pos: number): void {
    this.#carry = buf.slice(pos);
  }

  /**
   * The index of the next delimiter at or after `from`, or -1
   * (Boyer-Moore-Horspool: most bytes are skipped, not read).
   */
  #find(buf: Uint8Array, from: number): number {
    const needle = this.#needle;
    const skip = this.#skip;
    const last = needle.byteLength - 1;
    const lastByte = needle[last];
    const length = buf.byteLength;
    for (let i = from + last; i < length; i += skip[buf[i]]) {
      if (buf[i] !== lastByte) continue;
      let j = last - 1;
      let k = i - 1;
      while (j >= 0 && buf[k] === needle[j]) {
        j--;
        k--;
      }
      if (j < 0) return i - last;
    }
    return -1;
  }

  /** Where a tail that may begin a delimiter starts (else the length). */
  #partialTail(buf: Uint8Array, from: number): number {
    const needle = this.#needle;
    const end = buf.byteLength;
    let i = buf.indexOf(CR, Math.max(from, end - needle.byteLength + 1));
    while (i !== -1) {
      let k = 1;
      while (i + k < end && buf[i + k] === needle[k]) k++;
      if (i + k === end) return i;
      i = buf.indexOf(CR, i + 1);
    }
    return end;
  }

  #startPart(block: Uint8Array): void {
    const limits = this.#limits;
    if (++this.#parts > limits.maxParts) {
      throw tooLarge("Multipart body", {
        value: limits.maxParts,
        name: "maxParts",
      }, "parts");
    }
    // Browsers send names and file names as raw UTF-8.
    const lines = block.byteLength === 0
      ? []
      : unfold(utf8Decoder.decode(block).split("\r\n"));
    let disposition: string | undefined;
    let type: string | undefined;
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw malformed("bad part header");
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name === "content-disposition") {
        disposition ??= line.slice(colon + 1).trim();
      } else if (name === "content-type") {
        type ??= line.slice(colon + 1).trim();
      }
    }
    if (disposition === undefined) {
      throw malformed("part without Content-Disposition");
    }
    const parsed = parseHeaderParams(disposition, true);
    if (parsed.type !== "form-data") {
      throw malformed("part not form-data");
    }
    const name = unescapeQuotes(parsed.params.get("name"));
    if (name === undefined) throw malformed("part without a name");
    const filename = extendedValue(parsed.params.get("filename*")) ??
      unescapeQuotes(parsed.params.get("filename"));
    if (filename === undefined) {
      const charset = type === undefined
        ? this.#charset
        : parseHeaderParams(type).params.get("charset") ?? this.#charset;
      this.#sink = new FieldSink(name, decoderFor(charset), {
        value: limits.maxFieldSize,
        name: "maxFieldSize",
      });
      return;
    }
    if (++this.#files > limits.maxFiles) {
      throw tooLarge("Multipart body", {
        value: limits.maxFiles,
        name: "maxFiles",
      }, "files");
    }
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      try {
        headers.append(
          line.slice(0, colon).trim(),
          byteString(line.slice(colon + 1).trim()),
        );
      } catch {
        throw malformed("bad part header");
      }
    }
    this.#sink = new FileSink(
      name,
      { filename, contentType: type, headers },
      this,
      limits,
    );
  }
}

/**
 * Header lines with obsolete folding undone: a line that starts with a
 * space or a tab continues the one before, joined with a single space
 * (RFC 5322 section 2.2.3). A block that starts with one is malformed.
 */
function unfold(lines: string[]): string[] {
  if (!lines.some((line) => line[0] === " " || line[0] === "\t")) {
    return lines; // the usual case: nothing folded, nothing to copy
  }
  const out: string[] = [];
  for (const line of lines) {
    if (line[0] !== " " && line[0] !== "\t") {
      out.push(line);
    } else if (out.length === 0) {
      throw malformed("folded line before any header");
    } else {
      const before = out[out.length - 1].replace(/[ \t]+$/, "");
      out[out.length - 1] = `${before} ${line.replace(/^[ \t]+/, "")}`;
    }
  }
  return out;
}

/** The index of the CRLF CRLF that ends a header block, or -1. */
function findHeaderEnd(buf: Uint8Array, from: number): number {
  let i = buf.indexOf(CR, from);
  while (i !== -1 && i + 3 < buf.byteLength) {
    if (buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) return i;
    i = buf.indexOf(CR, i + 1);
  }
  return -1;
}

// Browsers send `"`, CR and LF in names as %22, %0D and %0A (Fetch
// standard, multipart/form-data); other escapes are left as they are.
function unescapeQuotes(value: string | undefined): string | undefined {
  if (value === undefined || !value.includes("%")) return value;
  return value.replace(
    /%(22|0D|0A)/gi,
    (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
  );
}

const utf8Decoder = new TextDecoder();

const utf8Encoder = new TextEncoder();

/** A header value as web `Headers` hold it: its UTF-8 bytes as latin1. */
function byteString(text: string): string {
  // deno-lint-ignore no-control-regex
  if (!/[^\x00-\x7f]/.test(text)) return text;
  return String.fromCharCode(...utf8Encoder.encode(text));
}

/** An RFC 8187 `charset'language'value`, decoded; undefined if malformed. */
function extendedValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /^([\w!#$%&+^`{}~-]+)'[^']*'(.*)$/.exec(value);
  if (!match) return undefined;
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(match[1]);
  } catch {
    return undefined;
  }
  return decodeBytes(match[2], decoder, true);
}
