#!/usr/bin/env node
// The `collector` command: runs the compiled CLI (built by `npm ci` through the prepare script).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  // main resolves once its output has been handed to the OS (a pipe is not cut); exit explicitly:
  // a shutdown that finished (or timed out) must not wait on stray handles.
  (code) => process.exit(code),
  (err) => {
    console.error(`collector: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
