// One Redis connection a store makes on first use (or the client it was
// given), shared by the session and rate-limit stores: the first connection
// fails at once, a lost one is retried with backoff, and a connection that
// failed to open is opened again by the next command.

/**
 * What the Redis stores need of a Redis client: sending one command. A
 * client of the `redis` npm package (`@redis/client`) has it.
 */
export interface RedisCommandClient {
  /**
   * Sends a command.
   *
   * @param args The command and its arguments, as strings.
   * @returns The reply.
   */
  sendCommand(args: string[]): Promise<unknown>;
}

interface OwnedClient extends RedisCommandClient {
  close(): Promise<void>;
}

/** How to make a connection when no client was given. */
export interface RedisConnectionOptions {
  /** The server's URL. */
  url: string;
  /** Milliseconds to wait for a connection. */
  connectTimeout: number;
  /** Called with connection errors (each lost connection, each retry). */
  onError: (error: unknown) => void;
}

/** A store's Redis client: the one given, or one made on first use. */
export class RedisConnection {
  #client: Promise<RedisCommandClient> | undefined;
  #given: boolean;
  #options: RedisConnectionOptions;

  constructor(
    given: RedisCommandClient | undefined,
    options: RedisConnectionOptions,
  ) {
    this.#given = given !== undefined;
    this.#client = given ? Promise.resolve(given) : undefined;
    this.#options = options;
  }

  /** The client, connecting first when needed. */
  client(): Promise<RedisCommandClient> {
    if (this.#client) return this.#client;
    const connecting = this.#connect();
    this.#client = connecting;
    connecting.catch(() => {
      if (this.#client === connecting) this.#client = undefined;
    });
    return connecting;
  }

  async #connect(): Promise<OwnedClient> {
    const { createClient } = await import("@redis/client");
    // The first connection fails at once; a lost one is retried, backing off.
    let connected = false;
    const client = createClient({
      url: this.#options.url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.#options.connectTimeout,
        reconnectStrategy: (retries: number, cause: Error) =>
          connected ? Math.min(50 * 2 ** retries, 2000) : cause,
      },
    });
    client.on("error", (error: unknown) => {
      if (connected) this.#options.onError(error);
    });
    try {
      await client.connect();
      connected = true;
    } catch (error) {
      if (client.isOpen) client.destroy();
      throw error;
    }
    return client as unknown as OwnedClient;
  }

  /** Closes the connection it made (a given client is left open). */
  async close(): Promise<void> {
    if (this.#given) return;
    const connecting = this.#client;
    this.#client = undefined;
    if (!connecting) return;
    let client: OwnedClient;
    try {
      client = await connecting as OwnedClient;
    } catch {
      return;
    }
    await client.close();
  }
}
