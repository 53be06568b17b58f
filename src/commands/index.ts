// The command table (oclif explicit discovery). One line per command; the key is the
// command id with ':' between topic and command (`config:show` is `pxm config show`).
import ConfigShow from './config/show.js';
import ConfigValidate from './config/validate.js';
import ImagesBuildEphemeral from './images/build-ephemeral.js';
import Tftp from './tftp.js';

export const COMMANDS = {
  'config:show': ConfigShow,
  'config:validate': ConfigValidate,
  'images:build-ephemeral': ImagesBuildEphemeral,
  tftp: Tftp,
};
