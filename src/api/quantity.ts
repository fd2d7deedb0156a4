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
