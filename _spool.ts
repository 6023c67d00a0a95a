// Temporary files for uploads: made on demand, removed when their request
// is done, and any left over removed when the process exits normally.
import type { FileUpload, FileUploadOptions } from "./upload.ts";

/** Hooks filled in by upload.ts (so the parser can make spooled uploads). */
export const spool: {
  upload: (
    path: string,
    size: number,
    options: FileUploadOptions,
  ) => FileUpload;
  /**
   * Makes an upload unreadable, as a spooled one is once its file is
   * removed, and returns the content it held in memory, if any.
   */
  release: (upload: FileUpload) => Uint8Array | undefined;
} = {
  upload: () => {
    throw new TypeError("Cannot spool an upload: upload.ts is not loaded");
  },
  release: () => undefined,
};

const live = new Set<string>();
let listening = false;

function removeLeftovers(): void {
  for (const path of live) {
    try {
      Deno.removeSync(path);
    } catch { /* already gone */ }
  }
  live.clear();
}

/** Makes a temporary file for an upload and opens it for writing. */
export async function createSpoolFile(): Promise<
  { path: string; file: Deno.FsFile }
> {
  if (!listening) {
    listening = true;
    globalThis.addEventListener("unload", removeLeftovers);
  }
  const path = await Deno.makeTempFile({ prefix: "pesto-upload-" });
  live.add(path);
  try {
    return { path, file: await Deno.open(path, { write: true }) };
  } catch (error) {
    await removeSpoolFile(path);
    throw error;
  }
}

/** Removes a temporary file made by `createSpoolFile`. */
export async function removeSpoolFile(path: string): Promise<void> {
  live.delete(path);
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Writes all of `bytes` to `file`. */
export async function writeAll(
  file: Deno.FsFile,
  bytes: Uint8Array,
): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength;) {
    offset += await file.write(bytes.subarray(offset));
  }
}
