// `minipod trace pod NAME`: the pod's lifecycle as a timeline, from its events
// and statuses — what happened when, and how long each step took.
import chalk from 'chalk';
import { connect } from '../connect.js';
import { type Span, buildTimeline, renderTimeline } from '../timeline.js';
import { resourceOf } from './get.js';

export async function trace(args: string[], opts: { namespace?: string }): Promise<void> {
  const [first, second] = args;
  const { resource, name: inline } = resourceOf(first ?? 'pod');
  const name = inline ?? second;
  if (resource !== 'pods' || !name) throw new (await import('../output.js')).UsageError('usage: minipod trace pod NAME');
  const ns = opts.namespace ?? 'default';
  const client = connect();
  try {
    const pod = await client.getPod(ns, name);
    const events = (await client.listEvents(ns, { fieldSelector: `involvedObject.uid=${pod.metadata.uid}` })).items;
    const tty = process.stdout.isTTY && !process.env.NO_COLOR;
    const paint = (s: string, k: Span['kind']) =>
      !tty ? s : k === 'warn' ? chalk.red(s) : k === 'wait' ? chalk.yellow(s) : k === 'ok' ? chalk.green(s) : chalk.cyan(s);
    const width = Math.max(20, Math.min(60, (process.stdout.columns ?? 100) - 70));
    console.log(`pod/${name} (uid ${pod.metadata.uid}), created ${pod.metadata.creationTimestamp}, now ${pod.status?.phase ?? 'Pending'}`);
    console.log(renderTimeline(buildTimeline(pod, events), width, paint));
  } finally {
    client.close();
  }
}
