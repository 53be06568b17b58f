import { PxmCommand } from '../../cli/base-command.js';

export default class ConfigValidate extends PxmCommand {
  static override description = 'Check the merged install configuration';
  async run(): Promise<void> {
    this.log('ok');
  }
}
