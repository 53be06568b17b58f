#!/usr/bin/env node
// Launcher: runs the one-file bundle (npm run build). The bundle is the only artefact
// pxm ships and packs, so development runs exercise exactly what users get.
require('../dist/pxm.cjs');
