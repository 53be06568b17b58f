// Shared parts of the `pxm nodes` commands: the API client and output mode.
import { Args, Flags } from '@oclif/core';
import { PxmCommand } from '../cli/base-command.js';
import type { ApiClient } from './api.js';
import { clientFromEnv } from './config.js';

export const jsonFlag = Flags.boolean({ description: 'print JSON (for scripts)', default: false });
export const nodeArg = Args.string({ description: 'node id or host name', required: true });

export abstract class NodesCommand extends PxmCommand {
  protected client(): ApiClient {
    return clientFromEnv();
  }
  apiClient(): ApiClient {
    return clientFromEnv();
  }
  emit(text: string): void {
    process.stdout.write(text);
  }
  emitJson(value: unknown): void {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }
  protected out(text: string): void {
    process.stdout.write(text);
  }
  protected json(value: unknown): void {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }
}
