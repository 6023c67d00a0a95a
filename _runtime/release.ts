// Handing buffers back at once: request bodies and their chunks once read
// (`_body.ts`, `_multipart.ts`, `request.ts`), and the runtime's copy of a
// sent response's bytes (`_sent_body.ts`).

/**
 * Hands the memory of `bytes` back now instead of at a later garbage
 * collection, by detaching its buffer; `bytes` then reads as empty. Only for
 * bytes whose buffer nothing else uses: a body or body chunk of a request
 * from `Deno.serve` (see `isServed`), a copy made by Pesto, or the runtime's
 * copy of a response body that `Deno.serve` has sent (`_sent_body.ts`).
 * Under load the collector runs too seldom for body buffers: a raw
 * `Deno.serve` reading 80 KB posts reached 300-550 MB of RSS, and 50-60 MB
 * when it released each body after use (bench/README.md).
 */
export function release(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (bytes.byteOffset === 0 && buffer instanceof ArrayBuffer) {
    if (!buffer.detached) buffer.transfer(0);
  }
}

/** Whether `bytes` was released (its buffer detached). */
export function isReleased(bytes: Uint8Array): boolean {
  const buffer = bytes.buffer;
  return buffer instanceof ArrayBuffer && buffer.detached;
}
