import { ancestorsFirst } from './class-chain.ts';

/**
 * Hooks of jobs of type `J`, as stored per class (the public `JobHook` and `AroundHook` of job.ts
 * set `J` to `Job`): this module knows jobs only as objects whose constructor is their class.
 */
type Hook<J> = (job: J) => void | Promise<void>;
type Around<J> = (job: J, next: () => Promise<void>) => void | Promise<void>;

/** The two actions callbacks attach to, as in ActiveJob. */
export type JobAction = 'enqueue' | 'perform';

interface ActionHooks<J = never> {
  before: Hook<J>[];
  after: Hook<J>[];
  around: Around<J>[];
}

const ownHooks = new WeakMap<object, Record<JobAction, ActionHooks>>();
/** Collected hooks per class and action, valid while no hook is added anywhere. */
let collectedCache = new WeakMap<object, Partial<Record<JobAction, ActionHooks>>>();

/** Registers a hook on one class (subclasses inherit it). @internal */
export function addHook<J>(owner: object, action: JobAction, kind: keyof ActionHooks, hook: Hook<J> | Around<J>): void {
  if (typeof hook !== 'function') {
    throw new TypeError(`A ${kind}${action === 'enqueue' ? 'Enqueue' : 'Perform'} callback must be a function`);
  }
  let hooks = ownHooks.get(owner);
  if (!hooks) {
    hooks = { enqueue: { before: [], after: [], around: [] }, perform: { before: [], after: [], around: [] } };
    ownHooks.set(owner, hooks);
  }
  (hooks[action][kind] as unknown[]).push(hook);
  collectedCache = new WeakMap();
}

/** The hooks of a class and its ancestors, ancestors first. */
function collectHooks(jobClass: object, action: JobAction): ActionHooks {
  const cached = collectedCache.get(jobClass)?.[action];
  if (cached) return cached;
  const collected = walkHooks(jobClass, action);
  collectedCache.set(jobClass, { ...collectedCache.get(jobClass), [action]: collected });
  return collected;
}

function walkHooks(jobClass: object, action: JobAction): ActionHooks {
  const collected: ActionHooks = { before: [], after: [], around: [] };
  for (const c of ancestorsFirst(jobClass)) {
    const own = ownHooks.get(c)?.[action];
    if (!own) continue;
    collected.before.push(...own.before);
    collected.after.push(...own.after);
    collected.around.push(...own.around);
  }
  return collected;
}

/**
 * Runs `action` inside the job's callbacks: around hooks wrap (outermost first), before hooks run
 * first, after hooks only when the action succeeded.
 */
export function runWithCallbacks<J extends object>(job: J, action: JobAction, body: () => Promise<void>): Promise<void> {
  const hooks = collectHooks(job.constructor, action) as ActionHooks<J>;
  // Without callbacks `body` runs as it is, with no promise of its own around it.
  if (hooks.before.length === 0 && hooks.after.length === 0 && hooks.around.length === 0) return body();
  return runHooked(job, hooks, body);
}

async function runHooked<J extends object>(job: J, hooks: ActionHooks<J>, body: () => Promise<void>): Promise<void> {
  const core = async (): Promise<void> => {
    for (const hook of hooks.before) await hook(job);
    await body();
    for (const hook of hooks.after) await hook(job);
  };
  const wrapped = hooks.around.reduceRight<() => Promise<void>>(
    (next, hook) => async () => {
      await hook(job, next);
    },
    core,
  );
  await wrapped();
}
