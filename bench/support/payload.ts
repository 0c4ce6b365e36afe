/** Job payload helpers that need no Partita code (the baselines' processes load only what they use). */
import type { Message } from 'kafkajs';

/** Filler for the job arguments, so messages have a realistic size. */
export function filler(chars: number): string {
  return 'x'.repeat(chars);
}

/** Bytes of a message on the wire, before Kafka's own framing: key + value + header names and values. */
export function messageBytes(message: Message): number {
  const headerBytes = Object.entries(message.headers ?? {}).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(String(value)),
    0,
  );
  return Buffer.byteLength(String(message.key ?? '')) + Buffer.byteLength(String(message.value ?? '')) + headerBytes;
}
