/** A promise a spec opens when it is ready: `await gate.wait()` inside a job, `gate.open()` outside. */
export class Gate {
  #open!: () => void;
  readonly #opened = new Promise<void>((resolve) => (this.#open = resolve));
  entered = 0;

  async wait(): Promise<void> {
    this.entered += 1;
    await this.#opened;
  }

  open(): void {
    this.#open();
  }
}
