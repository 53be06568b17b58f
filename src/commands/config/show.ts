import { PxmCommand } from '../../cli/base-command.js';

export default class ConfigShow extends PxmCommand {
  static override description = 'Print the merged install configuration';
  async run(): Promise<void> {
    this.log('{}');
  }
}
