/**
 * The roles a bench child process can play, by name. Each is imported only by the child that plays
 * it, so a worker's peak RSS holds its own code and not, say, BullMQ's.
 */
export const roles = {
  'partita-enqueue': () => import('./partita-enqueue.ts').then((m) => m.partitaEnqueue),
  'partita-worker': () => import('./partita-worker.ts').then((m) => m.partitaWorker),
  'raw-produce': () => import('./raw-produce.ts').then((m) => m.rawProduce),
  'raw-consumer': () => import('./raw-consumer.ts').then((m) => m.rawConsumer),
  'bullmq-add': () => import('./bullmq.ts').then((m) => m.bullAdd),
  'bullmq-worker': () => import('./bullmq.ts').then((m) => m.bullWorker),
} satisfies Record<string, () => Promise<(spec: never, ready: () => void, control: RoleControl) => Promise<unknown>>>;

/** What a role that shares its work with other children gets: report jobs done, learn when to stop. */
export interface RoleControl {
  /** Tells the parent how many jobs this child has done so far. */
  progress: (done: number) => void;
  /** Resolves when the parent asks the role to finish (the group as a whole is done). */
  stopped: Promise<void>;
}

export type RoleName = keyof typeof roles;
type RoleFunction<R extends RoleName> = Awaited<ReturnType<(typeof roles)[R]>>;
export type RoleSpecs = { [R in RoleName]: Parameters<RoleFunction<R>>[0] };
export type RoleResults = { [R in RoleName]: Awaited<ReturnType<RoleFunction<R>>> };
