// The contract every store backend keeps (see DESIGN.md): a global, monotonic
// resourceVersion; create fails on an existing name; update/delete with a stale
// resourceVersion fail; watch from a resourceVersion delivers every later change
// once, in order, or fails with Gone when that history is compacted.

import { type ResourceName, resourceType } from '../api/api-resources.js';

/** Objects are kept by resource (its plural: src/api/api-resources.ts), namespace and name. */
export type Resource = ResourceName;

export interface ObjectKey {
  resource: Resource;
  namespace: string; // '' for cluster-scoped objects
  name: string;
}

export interface StoredObject {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: StoredObject;
  resourceVersion: number;
}

export type StoreErrorReason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Gone';

export class StoreError extends Error {
  constructor(
    readonly reason: StoreErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export interface Watch {
  stop(): void;
}

export interface Store {
  create(key: ObjectKey, obj: StoredObject): Promise<StoredObject>;
  get(key: ObjectKey): Promise<StoredObject | undefined>;
  /** namespace undefined = all namespaces */
  list(resource: Resource, namespace?: string): Promise<{ items: StoredObject[]; resourceVersion: string }>;
  /** expectedRV: fail with Conflict unless the stored object is at that version */
  update(key: ObjectKey, obj: StoredObject, expectedRV?: string): Promise<StoredObject>;
  delete(key: ObjectKey, expectedRV?: string): Promise<StoredObject>;
  /**
   * Delivers every change of `resource` after `fromRV` (exclusive), in order.
   * Throws Gone when that history is already known to be compacted; a backend that
   * learns it later (etcd) calls `onError` with Gone instead, and delivers nothing more.
   */
  watch(resource: Resource, fromRV: number, onEvent: (e: StoreEvent) => void, onError?: (err: StoreError) => void): Watch;
  currentResourceVersion(): Promise<number>;
  close(): Promise<void>;
}

/** The key of an object; a cluster-scoped resource's objects belong to no namespace, whatever the caller says. */
export function keyOf(resource: Resource, namespace: string, name: string): ObjectKey {
  return { resource, namespace: resourceType(resource).namespaced ? namespace : '', name };
}
