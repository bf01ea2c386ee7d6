#!/usr/bin/env node
// The mesh CLI runs its TypeScript sources directly through tsx: no build step between an edit and a run.
import { register } from 'tsx/esm/api';

// graphql-js checks every type test for a second copy of itself unless NODE_ENV is production: 10-15% of a features
// request's CPU. The mesh's own development mode is MESH_ENV; the libraries always run as in production.
process.env.NODE_ENV ??= 'production';
register();
await import('./main.ts');
