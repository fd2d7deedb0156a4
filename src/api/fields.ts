// Field selectors (`spec.nodeName=node1,status.phase!=Failed`): equality only,
// as Kubernetes supports them, over a fixed set of fields per resource.
export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export const SELECTABLE_FIELDS: Record<string, string[]> = {
  pods: [
    'metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName',
    'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName',
  ],
  nodes: ['metadata.name', 'spec.unschedulable'],
  events: [
    'metadata.name', 'metadata.namespace', 'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name',
    'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath',
    'reason', 'reportingComponent', 'source', 'type',
  ],
};

/** Throws an Error with Kubernetes' wording for bad syntax or an unsupported field. */
export function parseFieldSelector(text: string, resource: string): FieldRequirement[] {
  const reqs: FieldRequirement[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new Error(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1].trim();
    const allowed = SELECTABLE_FIELDS[resource];
    if (allowed && !allowed.includes(field)) {
      throw new Error(`field label not supported: ${field}`);
    }
    reqs.push({ field, op: m[2] === '!=' ? '!=' : '=', value: m[3].trim() });
  }
  return reqs;
}

export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(obj: unknown, reqs: FieldRequirement[]): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='));
}
