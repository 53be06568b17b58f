// Bundle entry: run the CLI with this process's arguments.
import { main } from './main.js';

export { COMMANDS } from './main.js';

void main(process.argv.slice(2));
