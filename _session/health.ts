// Whether a store answers: one log line when it stops answering and one
// when it answers again, however many requests fail in between (and no
// stack per failure or reconnect attempt).

/** Tracks one store's outages and says when one starts and ends. */
export class StoreHealth {
  #name: string;
  #onError: (error: unknown) => void;
  #downSince: number | undefined;

  /**
   * @param name What the log lines call the store.
   * @param onError Called with every failure (the user's `onError`).
   */
  constructor(name: string, onError: (error: unknown) => void) {
    this.#name = name;
    this.#onError = onError;
    this.#downSince = undefined;
  }

  /** The store answered: ends an outage, with one line. */
  answered(): void {
    if (this.#downSince === undefined) return;
    const seconds = (performance.now() - this.#downSince) / 1000;
    this.#downSince = undefined;
    console.log(
      `${this.#name} answers again after ${seconds.toFixed(1)} s`,
    );
  }

  /**
   * The store failed: tells `onError`, and starts an outage with one line.
   */
  failed(error: unknown): void {
    this.#onError(error);
    if (this.#downSince !== undefined) return;
    this.#downSince = performance.now();
    const why = error instanceof Error ? error.message : String(error);
    console.error(
      `${this.#name} does not answer (${why}): requests that need it get 503 until it does`,
    );
  }
}
