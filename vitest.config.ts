import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Two cores: two test files at a time. Builds of cached artefacts (images, roots)
    // are serialised across files by a file lock (src/images/lock.ts).
    maxWorkers: 2,
    // Generous: a test that drives the CLI twenty times can take minutes when the two
    // cores are also running a TCG guest (seen: 60 s exceeded at load 8-12). A timeout is
    // a hang detector here, never a speed assertion.
    testTimeout: 240_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
