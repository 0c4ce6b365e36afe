#!/usr/bin/env node
// The `partita` command: registers the TypeScript loader, then runs the CLI written in TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
