// Errors as Kubernetes Status objects (apimachinery/pkg/api/errors).
import type { Status } from '../api/types.js';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Status['details'],
  ) {
    super(message);
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export const notFound = (kind: string, name: string) =>
  new ApiError(404, 'NotFound', `${kind} "${name}" not found`, { name, kind });
export const alreadyExists = (kind: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${kind} "${name}" already exists`, { name, kind });
export const conflict = (kind: string, name: string, message: string) =>
  new ApiError(409, 'Conflict', message, { name, kind });
export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);
export const gone = (message: string) => new ApiError(410, 'Expired', message);

/** 422 Invalid, with each field error as a cause, worded like the API server. */
export function invalid(kind: string, name: string, causes: { path: string; message: string }[]): ApiError {
  // A 3 MiB body can carry 100,000 mistakes: the first ones say what is wrong.
  const list = causes.slice(0, MAX_LISTED_CAUSES).map((c) => (c.path ? `${c.path}: ${c.message}` : c.message));
  if (causes.length > MAX_LISTED_CAUSES) list.push(`and ${causes.length - MAX_LISTED_CAUSES} more errors`);
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  name = clip(name); // an invalid name may be a megabyte long
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    kind, // NewInvalid: the kind itself (kubectl prints "The Pod \"x\" is invalid")
    causes: causes.slice(0, MAX_CAUSES).map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.path })),
  });
}

const MAX_LISTED_CAUSES = 10;

/** A value quoted in a message, cut to its first 256 characters. */
export function clip(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.length > 256 ? `${s.slice(0, 256)}... (${s.length} characters)` : s;
}
const MAX_CAUSES = 100;

export function successStatus(details?: Status['details']): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code: 200 };
}
