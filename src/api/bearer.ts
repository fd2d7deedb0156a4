// Bearer-token checks shared by the API server and the kubelet's endpoint.
import { timingSafeEqual } from 'node:crypto';

/** Compares the Authorization header with `Bearer TOKEN` in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const got = Buffer.from(header ?? '');
  const want = Buffer.from(`Bearer ${token}`);
  return got.length === want.length && timingSafeEqual(got, want);
}
