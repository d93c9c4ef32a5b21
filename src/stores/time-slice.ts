/**
 * Long store work (a cleanup pass) done synchronously in short slices, with a turn of the event
 * loop between slices: requests keep being served, and no slice stalls them for long. Synchronous
 * file calls cost a fraction of the same calls through the thread pool, so slicing is both the
 * faster pass and the shorter stall.
 * @module
 */
import { performance } from 'node:perf_hooks';

/** Longest run of synchronous work between two turns of the event loop, in ms. */
const SLICE_MS = 8;

/** Tells when the current slice is used up; {@link TimeSlice.yield} starts the next one. */
export class TimeSlice {
  #end = performance.now() + SLICE_MS;

  /** True when the slice is used up: the caller should `await yield()` before the next step. */
  due(): boolean {
    return performance.now() >= this.#end;
  }

  /** Lets the event loop run (timers, I/O, requests), then starts a new slice. */
  async yield(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.#end = performance.now() + SLICE_MS;
  }
}
