// Runs one probe of a container with the handler its spec names (prober.go
// runProbe). Anything the prober itself cannot do (no handler, a port name
// that names nothing) is an error: the result is unknown and thrown away.
import type { Probe } from '../../api/types.js';
import { MAX_TIMER_MS } from '../clock.js';
import { type ExecRunner, execProbe } from './exec.js';
import { httpProbe } from './http.js';
import { tcpProbe } from './tcp.js';
import { type ProbeOutcome, type ProbeTarget, probeTiming, resolveProbePort } from './types.js';

export type ProbeRunner = (probe: Probe, target: ProbeTarget) => Promise<ProbeOutcome>;

export function handlerRunner(runtime: ExecRunner): ProbeRunner {
  return async (probe, target) => {
    const timeoutMs = Math.min(probeTiming(probe).timeoutSeconds * 1000, MAX_TIMER_MS); // else Node fires it after 1 ms
    try {
      if (probe.exec) return await execProbe(runtime, target.containerId, probe.exec.command, timeoutMs);
      if (probe.tcpSocket) {
        const host = probe.tcpSocket.host || target.podIP;
        if (!host) return { result: 'unknown', output: 'the pod has no IP yet' };
        return await tcpProbe(host, resolveProbePort(probe.tcpSocket.port, target.spec), timeoutMs);
      }
      if (probe.httpGet) {
        const a = probe.httpGet;
        const host = a.host || target.podIP;
        if (!host) return { result: 'unknown', output: 'the pod has no IP yet' };
        const port = resolveProbePort(a.port, target.spec);
        return await httpProbe({ scheme: a.scheme ?? 'HTTP', host, port, path: a.path ?? '/', headers: a.httpHeaders }, timeoutMs);
      }
      return { result: 'unknown', output: 'missing probe handler' };
    } catch (err) {
      return { result: 'unknown', output: (err as Error).message };
    }
  };
}
