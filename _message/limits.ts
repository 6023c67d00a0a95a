// The limits on what a request may send, and their defaults.

/**
 * Limits on what a request may send. Each has a safe default; exceeding one
 * answers 413 (408 for `bodyTimeout`), never a silent truncation.
 */
export interface RequestLimits {
  /**
   * Bytes of any body read whole (`json()`, `text()`, `bytes()`).
   * @default {1048576}
   */
  maxBodySize?: number;
  /**
   * Bytes of an `application/x-www-form-urlencoded` body.
   * @default {1048576}
   */
  maxUrlencodedSize?: number;
  /**
   * Bytes of one non-file multipart field.
   * @default {1048576}
   */
  maxFieldSize?: number;
  /**
   * Bytes of a whole `multipart/form-data` body.
   * @default {67108864}
   */
  maxMultipartSize?: number;
  /**
   * Parts in one multipart body.
   * @default {1000}
   */
  maxParts?: number;
  /**
   * Files in one multipart body.
   * @default {20}
   */
  maxFiles?: number;
  /**
   * Bytes of one uploaded file.
   * @default {33554432}
   */
  maxFileSize?: number;
  /**
   * Bytes of an uploaded file held in memory: a larger file is written to
   * a temporary file as it arrives (removed once the response is sent).
   * @default {65536}
   */
  maxFileMemorySize?: number;
  /**
   * Bytes of the headers of one multipart part.
   * @default {8192}
   */
  maxPartHeaderSize?: number;
  /**
   * Milliseconds to wait for the whole body before answering 408.
   * @default {30000}
   */
  bodyTimeout?: number;
}

/** The default {@linkcode RequestLimits}. */
export const DEFAULT_LIMITS: Readonly<Required<RequestLimits>> = Object.freeze({
  maxBodySize: 1024 * 1024,
  maxUrlencodedSize: 1024 * 1024,
  maxFieldSize: 1024 * 1024,
  maxMultipartSize: 64 * 1024 * 1024,
  maxParts: 1000,
  maxFiles: 20,
  maxFileSize: 32 * 1024 * 1024,
  maxFileMemorySize: 64 * 1024,
  maxPartHeaderSize: 8 * 1024,
  bodyTimeout: 30_000,
});

/** The limits that are given (not `undefined`). */
export function definedOnly(limits: RequestLimits): RequestLimits {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(limits)) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}
