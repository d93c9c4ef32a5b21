/** Deep copy of session values (Date, Map, Set, BigInt, nested objects) with the platform's structuredClone. */
export function structuredClone<V>(value: V): V {
  return globalThis.structuredClone(value);
}
