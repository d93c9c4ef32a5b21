// Medians over rounds and the number formats of the tables.
export const median = (xs: number[]): number => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** A whole number with thousands separators. */
export const fmt = (n: number) =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
/** Two decimals. */
export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
/** One decimal under 10, else whole. */
export const p = (n: number) =>
  Number.isFinite(n) ? (n < 10 ? n.toFixed(1) : String(Math.round(n))) : '–';
