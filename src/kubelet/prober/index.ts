// The kubelet's prober: one worker per (container, probe kind), exec/tcpSocket/httpGet handlers.
export { ProbeManager, type ProbeManagerDeps } from './manager.js';
export { handlerRunner, type ProbeRunner } from './prober.js';
export type { ProbeKind, ProbeOutcome, ProbeResult } from './types.js';
