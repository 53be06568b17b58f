// The command table (oclif explicit discovery). One line per command; the key is the
// command id with ':' between topic and command (`config:show` is `pxm config show`).
import ConfigShow from './config/show.js';
import ConfigValidate from './config/validate.js';
import Install from './install.js';
import InTarget from './in-target.js';
import Curthooks from './curthooks.js';
import Curtin from './curtin.js';
import ImagesBuildEphemeral from './images/build-ephemeral.js';
import ImagesImport from './images/import.js';
import ImagesList from './images/list.js';
import Tftp from './tftp.js';
import NetMeta from './net-meta.js';
import Pack from './pack.js';
import BlockMeta from './block-meta.js';
import Server from './server.js';
import ApiKey from './apikey.js';
import Login from './login.js';
import NodesList from './nodes/list.js';
import NodesShow from './nodes/show.js';
import NodesAdd from './nodes/add.js';
import NodesEdit from './nodes/edit.js';
import NodesDelete from './nodes/delete.js';
import NodesCommission from './nodes/commission.js';
import NodesDeploy from './nodes/deploy.js';
import NodesRelease from './nodes/release.js';
import NodesAbort from './nodes/abort.js';
import NodesMarkBroken from './nodes/mark-broken.js';
import NodesEvents from './nodes/events.js';
import NodesCredentials from './nodes/credentials.js';
import NodesWait from './nodes/wait.js';

export const COMMANDS = {
  'config:show': ConfigShow,
  'config:validate': ConfigValidate,
  install: Install,
  'in-target': InTarget,
  curthooks: Curthooks,
  curtin: Curtin,
  'images:build-ephemeral': ImagesBuildEphemeral,
  'images:import': ImagesImport,
  'images:list': ImagesList,
  tftp: Tftp,
  'net-meta': NetMeta,
  pack: Pack,
  'block-meta': BlockMeta,
  server: Server,
  apikey: ApiKey,
  login: Login,
  'nodes:list': NodesList,
  'nodes:show': NodesShow,
  'nodes:add': NodesAdd,
  'nodes:edit': NodesEdit,
  'nodes:delete': NodesDelete,
  'nodes:commission': NodesCommission,
  'nodes:deploy': NodesDeploy,
  'nodes:release': NodesRelease,
  'nodes:abort': NodesAbort,
  'nodes:mark-broken': NodesMarkBroken,
  'nodes:events': NodesEvents,
  'nodes:credentials': NodesCredentials,
  'nodes:wait': NodesWait,
};
