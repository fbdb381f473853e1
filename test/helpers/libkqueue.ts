/**
 * libkqueue's documented deviations from the BSD kernels, which the suite
 * meets when CI runs it against the addon built on libkqueue (the
 * KQC_LIBKQUEUE CMake option). A check that meets one is skipped there, with
 * the reason printed in the TAP output; nothing else is skipped.
 * test/native/kevent_test.cc lists those of the kevent layer.
 */
import { binding } from '../../src/addon/binding';

export const onLibkqueue = binding().backend === 'libkqueue';

const reasons = {
  ownFds:
    "libkqueue keeps fds of its own: its monitoring thread's epoll and eventfd stay open after every kqueue " +
    'closes (src/linux/platform.c:677-682)',
  ownThreads: 'libkqueue starts helper threads of its own (libkqueue_mon, and one per kqueue fd it watches)',
  fullListLosesEvent:
    'with the event list full, the second event of an fd that is both readable and writable is lost ' +
    '(src/linux/platform.c:1116, 1336, 1347)',
} as const;

/** False, or the reason a check is skipped against libkqueue. */
export function deviation(which: keyof typeof reasons): string | false {
  return onLibkqueue ? `libkqueue deviation: ${reasons[which]}` : false;
}
