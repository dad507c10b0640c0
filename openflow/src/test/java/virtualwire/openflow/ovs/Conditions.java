package virtualwire.openflow.ovs;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waiting on a condition with a deadline instead of sleeping for a guessed time. */
public final class Conditions {
    private Conditions() {}

    public static void await(String what, Duration deadline, BooleanSupplier condition) {
        long end = System.nanoTime() + deadline.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out after " + deadline.toMillis() + " ms waiting for " + what);
            try {
                Thread.sleep(20);   // poll interval, not a guess at how long the condition takes
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }
}
