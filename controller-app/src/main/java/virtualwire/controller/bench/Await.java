package virtualwire.controller.bench;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Polls a condition with a deadline (benchmarks only: 100 µs polling costs a little CPU, not accuracy). */
final class Await {
    private Await() {}

    static void until(String what, Duration timeout, BooleanSupplier condition) throws TimeoutException {
        until(what, timeout, Duration.ofNanos(100_000), condition);
    }

    /** With a coarser poll where its CPU would be taken from what is measured (on two busy cores, 100 µs polls were ~20 % of one). */
    static void until(String what, Duration timeout, Duration poll, BooleanSupplier condition) throws TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new TimeoutException("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            LockSupport.parkNanos(poll.toNanos());
        }
    }

    static double ms(long nanos) {
        return nanos / 1e6;
    }
}
