// The embedded demo config (examples/demo.yaml, compiled into the bundle as text):
// `pxm install --target DIR` with no --config installs it.
import demoYaml from '../../examples/demo.yaml' with { type: 'text' };
import type { ConfigInput } from '../config/load.js';

export const DEMO_NAME = 'examples/demo.yaml (embedded)';

export function demoInput(): ConfigInput {
  return { kind: 'text', name: DEMO_NAME, text: demoYaml };
}
