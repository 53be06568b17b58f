// Busy polling while an ACK is due.
//
// A lock-step transfer (windowsize 1, what most PXE ROMs and curl use) is one round trip
// per block: the server sends, sleeps in epoll until the client's ACK arrives, and sends
// again. On a virtual machine waking a sleeping vCPU costs tens of microseconds (the
// wakeup is an interrupt the hypervisor has to deliver), a large part of a round trip
// that is ~100 µs in all. While a window is out, the poller keeps the event loop
// spinning (libuv polls without blocking while an immediate is pending) for at most
// `budgetUs`, so an ACK that comes back within it is handled without a wakeup. Once the
// budget passes without one, the loop sleeps as usual: a slow client (real firmware
// answers in milliseconds) costs at most one budget of CPU per window.
//
// One poller serves every transfer of a server; it never holds the process open.
export class AckPoller {
  private deadline = 0;
  private spinning = false;

  /** @param budgetUs how long to spin after each window; 0 turns polling off. */
  constructor(private readonly budgetUs: number) {}

  /** A window has left: spin until its ACK is likely back (at most budgetUs). */
  windowSent(): void {
    if (this.budgetUs <= 0) return;
    this.deadline = performance.now() + this.budgetUs / 1000;
    if (this.spinning) return;
    this.spinning = true;
    setImmediate(this.tick);
  }

  /** True while the event loop is kept from sleeping (for tests). */
  get active(): boolean {
    return this.spinning;
  }

  private readonly tick = (): void => {
    if (performance.now() < this.deadline) setImmediate(this.tick);
    else this.spinning = false;
  };
}
