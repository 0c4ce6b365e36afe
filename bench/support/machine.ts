/** The machine a run happened on, recorded with its results. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, totalmem } from 'node:os';

function packageVersion(name: string): string {
  const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  /** 1-minute load average when the run started (the machine is shared). */
  loadAverage: number;
  node: string;
  kafkajs: string;
  bullmq: string;
  ioredis: string;
}

export function describeMachine(): Machine {
  const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 10) / 10;
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: gib(totalmem()),
    freeMemoryGiB: gib(freemem()),
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    node: process.version,
    kafkajs: packageVersion('kafkajs'),
    bullmq: packageVersion('bullmq'),
    ioredis: packageVersion('ioredis'),
  };
}
