// Deno KV answers "database is locked" when another process holds the
// file's write lock, rather than waiting for it: the KV stores try again
// after a short random pause.

/** Whether `error` is KV's answer to a file another process is writing. */
export function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked/i.test(error.message);
}

/** A short random pause before attempt `attempt + 1`, longer each time. */
export function pause(attempt: number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50))
  );
}

/** `operation`, tried again while the database is locked (20 tries at most). */
export async function whileBusy<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isBusy(error) || attempt >= 20) throw error;
      await pause(attempt);
    }
  }
}
