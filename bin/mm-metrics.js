#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx's loader, so a fresh clone
// needs only `npm ci` (no build step that could drift from the sources).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
