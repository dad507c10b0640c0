package virtualwire.controller.wire;

import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's one thread: every change to the fabric's state runs here, one task at a time, so nothing races.
 * Two priorities: migration signals go ahead of queued work (audits, port status, API changes), because the
 * bicast must reach the switches while the VM is paused. First in, first out within a priority.
 */
public final class EngineExecutor implements Executor, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EngineExecutor.class);

    private record Task(int priority, long seq, Runnable work) implements Comparable<Task> {
        @Override
        public int compareTo(Task o) {
            return priority != o.priority ? Integer.compare(priority, o.priority) : Long.compare(seq, o.seq);
        }
    }

    private static final int URGENT = 0;
    private static final int NORMAL = 1;

    private final PriorityBlockingQueue<Task> queue = new PriorityBlockingQueue<>();
    private final AtomicLong seq = new AtomicLong();
    private final Thread thread;
    private final ScheduledExecutorService timers;
    private volatile boolean closed;

    public EngineExecutor(String name) {
        thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name + "-timers");
            t.setDaemon(true);
            return t;
        });
        thread.start();
    }

    /** Normal priority. */
    @Override
    public void execute(Runnable work) {
        submit(NORMAL, work);
    }

    /** Ahead of every queued normal task (migration signals and what they trigger). */
    public void executeUrgent(Runnable work) {
        submit(URGENT, work);
    }

    /** An executor view that runs continuations urgently. */
    public Executor urgent() {
        return this::executeUrgent;
    }

    /** False once closed. */
    public boolean isOpen() { return !closed; }

    public boolean inEngine() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code work} (normal priority) every {@code period} after {@code delay}. */
    public ScheduledFuture<?> every(long delayMillis, long periodMillis, Runnable work) {
        return timers.scheduleWithFixedDelay(() -> executeIfOpen(work), delayMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    public ScheduledFuture<?> after(long delayMillis, Runnable work) {
        return timers.schedule(() -> executeIfOpen(work), delayMillis, TimeUnit.MILLISECONDS);
    }

    private void executeIfOpen(Runnable work) {
        if (!closed) execute(work);
    }

    private void submit(int priority, Runnable work) {
        if (closed) throw new java.util.concurrent.RejectedExecutionException("the wire engine has stopped");
        queue.add(new Task(priority, seq.incrementAndGet(), work));
    }

    private void loop() {
        while (!closed) {
            Task t;
            try {
                t = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                t.work().run();
            } catch (Throwable e) {   // one failed task must not take the engine's only thread with it
                log.error("engine task failed", e);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        timers.shutdownNow();
        thread.interrupt();
    }
}
