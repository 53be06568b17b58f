// The command table (oclif explicit discovery). One line per command; the key is the
// command id with ':' between topic and command (`config:show` is `pxm config show`).
import ConfigShow from './config/show.js';
import ConfigValidate from './config/validate.js';
import Install from './install.js';
import InTarget from './in-target.js';
import Curtin from './curtin.js';
import ImagesBuildEphemeral from './images/build-ephemeral.js';
import Tftp from './tftp.js';
import NetMeta from './net-meta.js';
import Pack from './pack.js';
import BlockMeta from './block-meta.js';
import Server from './server.js';

export const COMMANDS = {
  'config:show': ConfigShow,
  'config:validate': ConfigValidate,
  install: Install,
  'in-target': InTarget,
  curtin: Curtin,
  'images:build-ephemeral': ImagesBuildEphemeral,
  tftp: Tftp,
  'net-meta': NetMeta,
  pack: Pack,
  'block-meta': BlockMeta,
  server: Server,
};
