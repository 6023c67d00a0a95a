// One Deno KV database a store opens on first use (or the one it was
// given), shared by the session and rate-limit stores; a database that
// failed to open is opened again by the next operation.

/** A store's KV database: the one given, or one opened on first use. */
export class KvDatabase {
  #kv: Promise<Deno.Kv> | undefined;
  #given: boolean;
  #path: string | undefined;

  constructor(given: Deno.Kv | undefined, path: string | undefined) {
    this.#given = given !== undefined;
    this.#kv = given ? Promise.resolve(given) : undefined;
    this.#path = path;
  }

  /** The database, opened first when needed. */
  open(): Promise<Deno.Kv> {
    if (this.#kv) return this.#kv;
    if (typeof Deno.openKv !== "function") {
      return Promise.reject(
        new TypeError(
          'Cannot open Deno KV: it is unstable; run with --unstable-kv or add "unstable": ["kv"] to deno.json',
        ),
      );
    }
    const opened = Deno.openKv(this.#path);
    this.#kv = opened;
    opened.catch(() => {
      if (this.#kv === opened) this.#kv = undefined;
    });
    return opened;
  }

  /** Closes the database it opened (a given one is left open). */
  async close(): Promise<void> {
    const opened = this.#kv;
    this.#kv = undefined;
    if (opened && !this.#given) (await opened).close();
  }
}
