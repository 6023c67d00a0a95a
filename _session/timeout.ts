// A store operation bounded in time: a store that does not answer is an
// outage, never a hang.

/**
 * `operation`, or a `Deno.errors.TimedOut` once `ms` have passed (the
 * operation is then left to finish or fail on its own: a late failure is
 * not an unhandled rejection).
 */
export function withTimeout<T>(
  operation: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  operation.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Deno.errors.TimedOut(`${what} did not answer in ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
}

/** Checks a store's `timeout` option; returns it or the default. */
export function timeoutOption(
  value: number | undefined,
  store: string,
): number {
  const ms = value ?? 3000;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(
      `Cannot use a ${store} timeout of ${value}: give a number of ms > 0`,
    );
  }
  return ms;
}
