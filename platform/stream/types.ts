/** A message as a stream holds it: its position and its payload. */
export interface StreamMessage {
  sequence: number;
  data: Uint8Array;
  /** When the broker stored it, in ms since the epoch: no event is queryable before it is published. */
  publishedAt: number;
}

/** An event to append, with the id the broker deduplicates it by. */
export interface StreamEvent {
  id: string;
  data: string | Uint8Array;
}

/**
 * An ordered, durable log of events, neutral about the broker: positions are the stream's own sequences, and a
 * consumer keeps its position where its output is committed, so reading again from there is how it resumes.
 */
export interface EventStream {
  /** Creates the stream for these subjects if it does not exist (idempotent). */
  ensure(stream: string, subjects: string[]): Promise<void>;
  /** Appends events in order once each: an id seen within the broker's window is stored once. */
  publish(subject: string, events: StreamEvent[]): Promise<void>;
  /**
   * Up to `max` messages after `after`, in order, waiting at most `waitMs` for them to arrive; `onPart` sees them in
   * parts as they arrive, so a consumer works on one while the next is read.
   */
  read(
    stream: string,
    after: number,
    max: number,
    waitMs: number,
    onPart?: (messages: StreamMessage[]) => void,
  ): Promise<StreamMessage[]>;
  /** The sequence of the newest message the stream holds (0 when empty). */
  head(stream: string): Promise<number>;
  close(): Promise<void>;
}
