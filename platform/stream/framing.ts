/**
 * Confluent's wire format for schema-encoded messages: a zero byte, the schema id (4 bytes, big-endian), then the
 * encoded value. Consumers find the writer's schema by the id, whatever the broker.
 */
export function framed(schemaId: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + value.length);
  new DataView(out.buffer).setUint32(1, schemaId);
  out.set(value, 5);
  return out;
}

/** The schema id and value of a framed message; undefined for a message not in the format. */
export function unframed(message: Uint8Array): { schemaId: number; value: Uint8Array } | undefined {
  if (message.length < 5 || message[0] !== 0) return undefined;
  return {
    schemaId: new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(1),
    value: message.subarray(5),
  };
}
