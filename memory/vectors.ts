/** Cosine similarity; 0 when the lengths differ or either vector is all zeros. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** A vector as a SQLite BLOB of 32-bit floats. */
export const float32Blob = (vector: ArrayLike<number>): Buffer => Buffer.from(Float32Array.from(vector).buffer);

/** A BLOB of 32-bit floats as a vector: viewed in place when aligned, copied when not (SQLite need not align it). */
export const float32FromBlob = (blob: Buffer): Float32Array =>
  blob.byteOffset % 4 === 0
    ? new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4)
    : new Float32Array(new Uint8Array(blob).buffer);
