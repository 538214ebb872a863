// Stopping a child process politely: SIGTERM, then SIGKILL if it has not exited after a grace
// period. Shared by the test and bench launchers of Bolide processes.
import type { ChildProcess } from 'node:child_process';

/** Sends SIGTERM and waits for `exited`; SIGKILL after `graceMs` if the child is still there. */
export async function terminateChild(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
