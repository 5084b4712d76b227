import { parseArgs } from 'node:util';
import { startSimulator } from './index.js';

/**
 * `npm run sim -- [options]`: runs the Proxmox VE API simulator and prints its address and a
 * ready API token. Defaults suit a demo (tasks take a moment, 401s are delayed as on PVE).
 */
const { values } = parseArgs({
  options: {
    host: { type: 'string', default: process.env.SIM_HOST ?? '127.0.0.1' },
    port: { type: 'string', default: process.env.SIM_PORT ?? '8006' },
    seed: { type: 'string' },
    state: { type: 'string' },
    'cert-dir': { type: 'string' },
    'task-duration': { type: 'string', default: '1500' },
    'clone-duration': { type: 'string' },
    'import-duration': { type: 'string' },
    'download-duration': { type: 'string' },
    latency: { type: 'string', default: '0' },
    'unauthorized-delay': { type: 'string', default: '3000' },
    'error-rate': { type: 'string', default: '0' },
    'timeout-rate': { type: 'string', default: '0' },
    'reset-rate': { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run sim -- [options]
  --host ADDR               listen address (127.0.0.1)
  --port N                  port (8006; 0 = any free port)
  --seed FILE               demo cluster to start from (src/simulator/seed.json)
  --state FILE              keep the state in FILE across restarts
  --cert-dir DIR            where the self-signed certificate is kept
  --task-duration MS        how long tasks run (1500)
  --clone-duration MS       full/linked clones and move_disk (6 x task duration)
  --import-duration MS      disks created with import-from (6 x task duration)
  --download-duration MS    download-url, aplinfo downloads, uploads (6 x task duration)
  --latency MS              delay added to every request (0)
  --unauthorized-delay MS   delay of 401 replies (3000, as Proxmox)
  --error-rate R            share of requests failing with 500 (0..1)
  --timeout-rate R          share of requests never answered (0..1)
  --reset-rate R            share of requests whose connection is reset (0..1)
`);
  process.exit(0);
}

const sim = await startSimulator({
  host: values.host,
  port: Number(values.port),
  seedFile: values.seed,
  stateFile: values.state,
  certDir: values['cert-dir'],
  taskDurationMs: Number(values['task-duration']),
  taskDurationsMs: {
    clone: optionalNumber(values['clone-duration']),
    import: optionalNumber(values['import-duration']),
    download: optionalNumber(values['download-duration']),
  },
  latencyMs: Number(values.latency),
  unauthorizedDelayMs: Number(values['unauthorized-delay']),
  faults: { errorRate: Number(values['error-rate']), timeoutRate: Number(values['timeout-rate']), resetRate: Number(values['reset-rate']) },
});

function optionalNumber(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}

const { taskDurationsMs: slow } = sim.tasks.durations();
const nodes = sim.state.nodes.map((n) => n.name).join(', ');
process.stdout.write(`Proxmox VE API simulator listening on ${sim.url}
  nodes:        ${nodes}
  certificate:  ${sim.certFile} (self-signed)
  API token:    Authorization: ${sim.token.header}
  tasks:        ${sim.tasks.durationMs} ms; clones ${slow.clone} ms, imports ${slow.import} ms, downloads ${slow.download} ms
  try:          curl -k -H 'Authorization: ${sim.token.header}' ${sim.url}/nodes
`);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
