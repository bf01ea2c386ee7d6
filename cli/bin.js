#!/usr/bin/env node
// The mesh CLI runs its TypeScript sources directly through tsx: no build step between an edit and a run.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
