// Short garbage-collection pauses for a server that keeps much of what it allocates.
//
// V8 grows its young generation (the semi-spaces a scavenge copies live objects
// between) from 1 MiB up to 16 MiB each when many objects survive a scavenge. A DHCP
// server at thousands of exchanges a second is that case: every lease it hands out
// lives on, so one scavenge copies every lease made since the last one. With grown
// semi-spaces those pauses measured 5-16 ms (and up to 170 ms on a loaded machine),
// during which requests queue unanswered and then leave as a burst that overflows
// the clients' receive buffers (docs/benchmarks/dhcp.md). Keeping the semi-spaces at
// their initial size makes scavenges more frequent and about 1-2 ms each, for about
// the same total GC time.
//
// `--max-semi-space-size` is read only when the heap is created, so it would need a
// node command-line flag; the growth factor is read at each growth step and can be
// set from inside the process, on Node 20, 22 and 24 alike.
import v8 from 'node:v8';

/** Stop the young generation from growing past its initial size (process-wide; idempotent). */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
