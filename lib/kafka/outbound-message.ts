/** A message on its way to Kafka. */
export interface OutboundMessage {
  /** The topic to send to. */
  topic: string;
  /** The message key (it chooses the partition); null for none. */
  key: string | Buffer | null;
  /** The message value; null for a tombstone. */
  value: string | Buffer | null;
  /** The message headers. */
  headers: Record<string, string>;
  /** Explicit partition; otherwise chosen from the key (murmur2, like the Java client). */
  partition?: number;
}

/** Where the broker stored a message. */
export interface Delivery {
  /** The topic. */
  topic: string;
  /** The partition the message went to. */
  partition: number;
  /** Its offset there. */
  offset: number;
}

/** What the dispatcher needs from a producer: one request for many messages. */
export interface MessageSender {
  connect(): Promise<void>;
  /** Sends messages in one request; resolves with each message's delivery, in input order. */
  send(messages: readonly OutboundMessage[]): Promise<Delivery[]>;
  disconnect(): Promise<void>;
}

/** The size the broker counts for a message, close enough for a limit check. */
export function messageBytes(message: OutboundMessage): number {
  let bytes = byteLength(message.value) + byteLength(message.key) + 16;
  for (const [name, value] of Object.entries(message.headers)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  }
  return bytes;
}

function byteLength(value: string | Buffer | null): number {
  if (value === null) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}
