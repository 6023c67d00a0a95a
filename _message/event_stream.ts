// Server-sent events: the text/event-stream encoding of events, and the
// byte stream that pulls them from an (async) iterable, with keep-alive
// comments, stopping the source when the client goes away. The public face
// is `Response.eventStream()` in response.ts.

/** One server-sent event, as {@linkcode Response.eventStream} sends it. */
export interface ServerSentEvent {
  /**
   * The data: a string is sent as it is (one `data:` line per line of it),
   * anything else as its JSON. `undefined` sends no `data:` line (an event
   * that only sets `id` or `retry`; browsers dispatch nothing for it).
   */
  data: unknown;
  /** The event type (`event:`); browsers default it to `"message"`. */
  event?: string;
  /**
   * The event id (`id:`): browsers send the last one back in the
   * `Last-Event-ID` header when they reconnect (`request.lastEventId`).
   */
  id?: string | number;
  /** How long browsers wait before reconnecting, in ms (`retry:`). */
  retry?: number;
}

/**
 * What {@linkcode Response.eventStream} sends: an async iterable (an async
 * generator, a `ReadableStream`) or iterable of events, a string being an
 * event with that data.
 */
export type EventStreamSource =
  | AsyncIterable<ServerSentEvent | string>
  | Iterable<ServerSentEvent | string>;

/** Options of {@linkcode Response.eventStream}. */
export interface EventStreamOptions {
  /**
   * Send a comment (`: keep-alive`) whenever nothing was sent for this many
   * ms, so that proxies and load balancers keep an idle stream open. `0`
   * sends none.
   * @default {0}
   */
  keepAlive?: number;
  /**
   * The status code.
   * @default {200}
   */
  status?: number;
  /** More headers (`Content-Type` and `Cache-Control` are set). */
  headers?: HeadersInit;
}

/** The comment sent by `keepAlive`. */
const KEEP_ALIVE = ": keep-alive\n\n";

const encoder = new TextEncoder();

/**
 * The text of one event, ending with the blank line that dispatches it.
 * Throws a `TypeError` for an `event` or `id` with CR, LF (or, for `id`,
 * NUL: browsers ignore such an id), and for a `retry` that is not a
 * non-negative integer.
 */
function encodeEvent(event: ServerSentEvent | string): string {
  if (typeof event === "string") return dataLines(event) + "\n";
  if (typeof event !== "object" || event === null) {
    throw new TypeError(
      `Cannot send a server-sent event: ${
        event === null ? "null" : typeof event
      } is neither an event object nor a string`,
    );
  }
  let text = "";
  if (event.event !== undefined) {
    const type = String(event.event);
    if (/[\r\n]/.test(type)) {
      throw new TypeError(
        "Cannot send a server-sent event: its event type holds CR or LF",
      );
    }
    text += `event: ${type}\n`;
  }
  if (event.id !== undefined) {
    const id = String(event.id);
    if (/[\r\n\0]/.test(id)) {
      throw new TypeError(
        "Cannot send a server-sent event: its id holds CR, LF or NUL",
      );
    }
    text += `id: ${id}\n`;
  }
  if (event.retry !== undefined) {
    if (!Number.isSafeInteger(event.retry) || event.retry < 0) {
      throw new TypeError(
        `Cannot send a server-sent event: retry must be a whole number of ms, not ${event.retry}`,
      );
    }
    text += `retry: ${event.retry}\n`;
  }
  const data = event.data;
  if (data !== undefined) {
    let json: string | undefined;
    if (typeof data !== "string") {
      json = JSON.stringify(data);
      if (json === undefined) {
        throw new TypeError(
          `Cannot send a server-sent event: its data (${typeof data}) cannot be written as JSON`,
        );
      }
    }
    text += dataLines(json ?? data as string);
  }
  if (text === "") {
    throw new TypeError(
      "Cannot send a server-sent event: it has no data, event, id or retry",
    );
  }
  return text + "\n";
}

/** One `data:` line per line (CRLF, CR and LF all end a line). */
function dataLines(data: string): string {
  if (!/[\r\n]/.test(data)) return `data: ${data}\n`;
  return data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join("");
}

type Item = ServerSentEvent | string;
type Outcome = { result: IteratorResult<Item> } | { error: unknown };

/**
 * The body of an event stream: pulls events from `source` as the client
 * reads them, sends a keep-alive comment when idle, and stops the source
 * (its iterator's `return()`) when the stream is cancelled, which is what
 * `Deno.serve` does when the client goes away. An event that cannot be
 * encoded ends the stream with its error after stopping the source, as does
 * a source that throws (the reader gets the error: `Deno.serve` logs it).
 */
export function eventStreamBody(
  source: EventStreamSource,
  keepAlive: number,
): ReadableStream<Uint8Array> {
  if (!(keepAlive >= 0) || !Number.isFinite(keepAlive)) {
    throw new TypeError(
      `Cannot make an event stream: keepAlive must be a number of ms, not ${keepAlive}`,
    );
  }
  const iterator: AsyncIterator<Item> | Iterator<Item> =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<Item>)[Symbol.asyncIterator]()
      : (source as Iterable<Item>)[Symbol.iterator]();
  // One next() at a time; a keep-alive tick does not drop it: its outcome
  // waits in `ready` for the following pull.
  let asking = false;
  let ready: Outcome | undefined;
  let wake: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The stream is done: cancelled, closed or errored.
  let finished = false;
  // The source ended or threw: there is nothing to stop.
  let sourceDone = false;

  const ask = () => {
    asking = true;
    const settle = (outcome: Outcome) => {
      asking = false;
      ready = outcome;
      wake?.();
    };
    new Promise<IteratorResult<Item>>((resolve) => resolve(iterator.next()))
      .then((result) => settle({ result }), (error) => {
        sourceDone = true;
        settle({ error });
      });
  };
  const stopWaiting = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    // A pull waiting goes on, and sees `finished`.
    wake?.();
    wake = undefined;
  };
  const stopSource = async () => {
    if (sourceDone) return;
    sourceDone = true;
    try {
      await iterator.return?.();
    } catch (error) {
      console.error("Error while stopping an event stream's source:", error);
    }
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (ready === undefined && !asking) ask();
        if (ready === undefined) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (keepAlive > 0) timer = setTimeout(resolve, keepAlive);
          });
          stopWaiting();
        }
        if (finished) return;
        const outcome = ready;
        if (outcome === undefined) {
          controller.enqueue(encoder.encode(KEEP_ALIVE));
          return;
        }
        ready = undefined;
        if ("error" in outcome) throw outcome.error;
        if (outcome.result.done) {
          finished = sourceDone = true;
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(encodeEvent(outcome.result.value)));
      } catch (error) {
        if (finished) return;
        finished = true;
        await stopSource();
        controller.error(error);
      }
    },
    async cancel() {
      if (finished) return;
      finished = true;
      stopWaiting();
      await stopSource();
    },
  }, { highWaterMark: 0 });
}
