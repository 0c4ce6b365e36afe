/**
 * The house plan as dependency-cruiser rules (`npm run check:deps`; ARCHITECTURE.md explains it).
 *
 * `LAYERS` lists the floors of lib/ from the top down. A module may import modules of its own
 * floor and of the floors below it, never of a floor above. Folders that do not exist yet have
 * their floor reserved, so whoever creates them lands on the right one.
 */
const LAYERS = [
  { name: 'tools', path: '^lib/(cli|web)/' },
  { name: 'adapters', path: '^lib/(bullmq|testing)/' },
  { name: 'composition', path: '^lib/(app|config|index)\\.ts$' },
  { name: 'operations', path: '^lib/(admin|reports|metrics|local-broker)/' },
  { name: 'consume', path: '^lib/consume/' },
  { name: 'routing', path: '^lib/routing/' },
  { name: 'dispatch', path: '^lib/dispatch/' },
  { name: 'job', path: '^lib/job/' },
  { name: 'schedule', path: '^lib/schedule/' },
  { name: 'tracing', path: '^lib/tracing/' },
  { name: 'kafka', path: '^lib/kafka/' },
  { name: 'ground', path: '^lib/(logging/|(errors|events|validation|shutdown)\\.ts$)' },
];

/**
 * Entry points the tools may use: the public surface (lib/index.ts), the operations folders'
 * index.ts, and lib/errors.ts, whose classes are all exported by lib/index.ts (the CLI reports a
 * usage error without loading the engine, so `--help` answers at once).
 */
const PUBLIC_ENTRY_POINTS = '^lib/(index\\.ts|errors\\.ts|(admin|reports|metrics|local-broker)/index\\.ts)$';

const upwardImports = LAYERS.slice(1).map((layer, index) => ({
  name: `${layer.name}-imports-upward`,
  comment: `lib/ floor "${layer.name}" may import only its own floor and the floors below it (ARCHITECTURE.md).`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(0, index + 1).map((above) => `(${above.path})`).join('|') },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upwardImports,
    {
      name: 'not-in-house-plan',
      comment: 'Every module of lib/ belongs to a floor of the house plan: add new folders to LAYERS.',
      severity: 'error',
      from: { path: '^lib/', pathNot: LAYERS.map((layer) => `(${layer.path})`).join('|') },
      to: {},
    },
    {
      name: 'tools-use-public-entry-points',
      comment: 'cli and web use the public surface (lib/index.ts) and the operations folders\' index.ts, not internals.',
      severity: 'error',
      from: { path: '^lib/(cli|web)/' },
      to: { path: '^lib/', pathNot: ['^lib/(cli|web)/', PUBLIC_ENTRY_POINTS] },
    },
    {
      name: 'kafkajs-only-in-kafka-boundary',
      comment: 'kafkajs is loaded only by lib/kafka/kafkajs.ts.',
      severity: 'error',
      from: { pathNot: '^lib/kafka/kafkajs\\.ts$' },
      to: { path: '^node_modules/kafkajs/' },
    },
    {
      name: 'lib-stays-out-of-scripts-and-specs',
      comment: 'The published library never imports specs, benchmarks, the fault suite, workers or example jobs.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(spec|bench|chaos|workers|jobs)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every import resolves (a moved file left a stale path behind).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: { conditionNames: ['partita-source', 'import', 'types', 'default'] },
  },
};
