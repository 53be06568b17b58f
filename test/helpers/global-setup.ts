// Builds the one-file bundle once per test run, so CLI tests exercise exactly the
// artefact that ships (dist/pxm.cjs) and never a stale one.
import { buildBundle } from '../../scripts/build.mjs';

export default async function setup(): Promise<void> {
  await buildBundle();
}
