// Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource):
//   <quantity> ::= <signedNumber><suffix>
//   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei        (binary SI, powers of 1024)
//                | n | u | m | "" | k | M | G | T | P | E   (decimal SI)
//                | e<signedInt> | E<signedInt>       (decimal exponent)
// Values are returned in base units: cores for cpu ("100m" -> 0.1), bytes for memory.

/** Kubernetes' own wording for a malformed quantity. */
export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

// The exponent alternative comes first so "1E3" is 1000 while a bare "1E" is exa.
const QUANTITY_RE = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE]([+-]?\d+)|([KMGTPE]i)|([numkMGTPE]))?$/;

const BINARY: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
// Decimal SI suffixes as powers of ten.
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

export class QuantityError extends Error {
  constructor(readonly input: string | number) {
    super(QUANTITY_FORMAT_ERROR);
    this.name = 'QuantityError';
  }
}

/** Parses a quantity; throws QuantityError on bad syntax (or a non-finite number). */
export function parseQuantity(s: string | number): number {
  if (typeof s === 'number') {
    if (!Number.isFinite(s)) throw new QuantityError(s);
    return s;
  }
  if (typeof s !== 'string') throw new QuantityError(String(s));
  const m = QUANTITY_RE.exec(s);
  if (!m) throw new QuantityError(s);
  const [, num, exp, bin, dec] = m;
  const base = Number(num);
  if (bin !== undefined) return base * BINARY[bin];
  const e = exp !== undefined ? Number(exp) : dec !== undefined ? DECIMAL[dec] : 0;
  return scale(base, e);
}

// Divide for negative exponents: 300 / 1e3 rounds to the same double as 0.3, 300 * 1e-3 does not.
function scale(base: number, exp: number): number {
  return exp < 0 ? base / 10 ** -exp : base * 10 ** exp;
}

/** Like parseQuantity, but undefined instead of an exception. */
export function tryParseQuantity(s: unknown): number | undefined {
  if (typeof s !== 'string' && typeof s !== 'number') return undefined;
  try {
    return parseQuantity(s);
  } catch {
    return undefined;
  }
}

export function isValidQuantity(s: unknown): boolean {
  return tryParseQuantity(s) !== undefined;
}

const BINARY_EXP: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };
/** Magnitudes are held at 10^60 nano units: no resource is that large, and "1e999999999" must not become a billion digits. */
const NANOS_CAP = 10n ** 60n;

/**
 * The quantity as apimachinery keeps it after parsing: rounded up (away from zero)
 * to a whole number of nano units, and exact — unlike parseQuantity's float — so
 * that sums, comparisons (the QoS class) and the kubelet's MilliValue()/Value()
 * come out as upstream's. Throws QuantityError on bad syntax.
 */
export function quantityNanos(s: string | number): bigint {
  if (typeof s === 'number' && !Number.isFinite(s)) throw new QuantityError(s);
  const text = typeof s === 'number' ? String(s) : s;
  const m = typeof text === 'string' ? QUANTITY_RE.exec(text) : null;
  if (!m) throw new QuantityError(String(s));
  const [, num, exp, bin, dec] = m;
  const negative = num.startsWith('-');
  const [whole, frac = ''] = num.replace(/^[+-]/, '').split('.');
  let digits = BigInt(`${whole}${frac}` || '0');
  if (digits === 0n) return 0n;
  if (bin !== undefined) digits <<= BINARY_EXP[bin];
  const pow10 = 9 - frac.length + (exp !== undefined ? Number(exp) : dec !== undefined ? DECIMAL[dec] : 0);
  const length = digits.toString().length;
  let nanos: bigint;
  if (length + pow10 > 61) nanos = NANOS_CAP;
  else if (pow10 >= 0) nanos = digits * 10n ** BigInt(pow10);
  else if (-pow10 > length) nanos = 1n; // below one nano unit: rounded up to it
  else nanos = ceilDiv(digits, 10n ** BigInt(-pow10));
  return negative ? -nanos : nanos;
}

/** ⌈a / b⌉ for a ≥ 0, b > 0. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** apimachinery's MilliValue(): thousandths, rounded up. */
export function milliValue(s: string | number): bigint {
  const n = quantityNanos(s);
  return n < 0n ? -ceilDiv(-n, 10n ** 6n) : ceilDiv(n, 10n ** 6n);
}

/** apimachinery's Value(): whole units, rounded up. */
export function wholeValue(s: string | number): bigint {
  const n = quantityNanos(s);
  return n < 0n ? -ceilDiv(-n, 10n ** 9n) : ceilDiv(n, 10n ** 9n);
}
