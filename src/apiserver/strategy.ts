// What the API server does with each kind it serves besides keeping it: the
// per-resource REST strategies of upstream (pkg/registry/core/*/strategy.go).
// The registry runs the same steps for every kind and asks its strategy at each
// one. A new resource is a declaration in src/api/api-resources.ts plus an entry
// here; the map's type makes a served resource without a strategy a compile error.
import { objectMetaMapErrors } from '../api/labels.js';
import type { ServedResource } from '../api/api-resources.js';
import type { Event, Node } from '../api/types.js';
import type { FieldError } from '../api/validate.js';
import type { Store, StoredObject } from '../store/store.js';
import { NAMESPACE_STRATEGY } from './namespaces.js';
import { randomSuffix } from './names.js';
import { POD_STRATEGY } from './pods.js';
import type { Registry } from './registry.js';
import { EVENT_TABLE, NODE_TABLE, type TableConvertor } from './table.js';

export interface RESTStrategy<T> {
  /** The name of an object created with neither name nor generateName; without this hook a name is required. */
  defaultName?(): string;
  /** The object's field errors (422 Invalid), on create before prepareForCreate, on update before prepareForUpdate. */
  validate(obj: T): FieldError[];
  /** Defaults and the fields only the server sets, on a valid new object. */
  prepareForCreate?(obj: T): void;
  /** `obj` is the stored object with the client's over it: keep what clients may not change; throw an ApiError to refuse. */
  prepareForUpdate?(obj: T, old: T): void;
  /** How long a deletion may take, in seconds (0: at once); without this hook objects go at once. */
  gracePeriodSeconds?(obj: T, requested: number | undefined): number;
  /** A deletion that is more than a store delete (a namespace turns Terminating and is emptied first). */
  delete?(registry: Registry, name: string): Promise<StoredObject>;
  /** What the store must hold before any request for the resource is served. */
  ready?(store: Store): Promise<void>;
  /** The server-side printer: the Table kubectl asks for. */
  table: TableConvertor<T>;
}

/** Only labels and annotations to check: the kinds minipod keeps without a schema of their own. */
export const metadataErrors = (obj: { metadata: object }): FieldError[] => objectMetaMapErrors(obj.metadata as Record<string, unknown>);

const NODE_STRATEGY: RESTStrategy<Node> = {
  validate: metadataErrors,
  prepareForCreate: (node) => void (node.spec ??= {}),
  table: NODE_TABLE,
};

const EVENT_STRATEGY: RESTStrategy<Event> = {
  // client-go's recorder names its events; minipod's callers may leave it to the server.
  defaultName: () => `event.${randomSuffix()}${randomSuffix()}`,
  validate: metadataErrors,
  prepareForCreate(ev) {
    ev.firstTimestamp ??= new Date().toISOString();
    ev.lastTimestamp ??= ev.firstTimestamp;
    ev.count ??= 1;
  },
  table: EVENT_TABLE,
};

/** The store holds plain JSON; each strategy is written for its kind's type. */
const untyped = <T>(s: RESTStrategy<T>) => s as unknown as RESTStrategy<StoredObject>;

const STRATEGIES: { [R in ServedResource]: RESTStrategy<StoredObject> } = {
  pods: untyped(POD_STRATEGY),
  nodes: untyped(NODE_STRATEGY),
  events: untyped(EVENT_STRATEGY),
  namespaces: NAMESPACE_STRATEGY,
};

export function strategyFor(resource: ServedResource): RESTStrategy<StoredObject> {
  return STRATEGIES[resource];
}
