#!/usr/bin/env -S node --import tsx
// Development launcher: runs the TypeScript sources directly (no build step).
import { main } from '../src/main.ts';

await main(process.argv.slice(2));
