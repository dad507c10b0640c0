package virtualwire.libvirt;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.Library;
import org.libvirt.event.LifecycleListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One libvirt connection per hypervisor (by topology name). Lifecycle events of every domain are handed to the
 * listener on an executor of ours, never on libvirt's event-loop thread (which must keep dispatching; a listener
 * that calls back into libvirt from it would deadlock). Live migrations run peer to peer: the source's libvirtd
 * talks to the destination's itself, as `virsh migrate --live --p2p --persistent --undefinesource` does.
 */
public final class LibvirtDriver implements MigrationJobs, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LibvirtDriver.class);
    public static final long MIGRATE_FLAGS = Domain.MigrateFlags.LIVE | Domain.MigrateFlags.PEER2PEER
            | Domain.MigrateFlags.PERSIST_DEST | Domain.MigrateFlags.UNDEFINE_SOURCE;
    private static boolean eventLoopStarted;

    private final Map<String, String> uris;
    /** The hypervisors whose libvirt this driver connects to (all of {@link #uris}, or a cluster node's share). */
    private final java.util.Set<String> held = new java.util.LinkedHashSet<>();   // guarded by this
    private final Map<String, Connect> connections = new LinkedHashMap<>();
    private final ExecutorService events = Executors.newSingleThreadExecutor(daemon("libvirt-events"));
    private final ExecutorService jobs = Executors.newCachedThreadPool(daemon("libvirt-migration"));

    /** The result of a finished migration job, as the source's libvirt reported it. */
    public record MigrationResult(String domain, String from, String to, long millis) {}

    private final DomainLifecycleListener listener;
    /** How often each connection is checked; a dead one (libvirtd restarted, keepalive expired) is reopened. */
    private static final long RECONNECT_CHECK_SECONDS = 2;
    private final java.util.concurrent.ScheduledExecutorService watchdog =
            Executors.newSingleThreadScheduledExecutor(daemon("libvirt-reconnect"));

    private LibvirtDriver(Map<String, String> uris, DomainLifecycleListener listener) {
        this.uris = Map.copyOf(uris);
        this.listener = listener;
    }

    /**
     * Connects to every hypervisor's libvirt and follows its domains' lifecycle events.
     * @param uris libvirt URI by hypervisor name
     */
    public static LibvirtDriver start(Map<String, String> uris, DomainLifecycleListener listener) throws LibvirtException {
        return start(uris, uris.keySet(), listener);
    }

    /**
     * Knows every hypervisor's URI (a peer-to-peer migration names its destination's) but connects only to
     * {@code held}'s; {@link #hold} and {@link #release} change that share (a cluster node's masters).
     */
    public static LibvirtDriver start(Map<String, String> uris, java.util.Collection<String> held, DomainLifecycleListener listener)
            throws LibvirtException {
        startEventLoop();
        LibvirtDriver d = new LibvirtDriver(uris, listener);
        try {
            for (String hypervisor : held) {
                if (!uris.containsKey(hypervisor)) continue;
                d.held.add(hypervisor);
                d.connections.put(hypervisor, d.open(hypervisor));
            }
        } catch (LibvirtException e) {
            d.close();
            throw e;
        }
        d.watchdog.scheduleWithFixedDelay(d::reconnectDead, RECONNECT_CHECK_SECONDS, RECONNECT_CHECK_SECONDS,
                java.util.concurrent.TimeUnit.SECONDS);
        return d;
    }

    /** A connection with keepalive (5 s, 3 missed: dead) whose lifecycle events go to the listener. */
    private Connect open(String hypervisor) throws LibvirtException {
        Connect c = new Connect(uris.get(hypervisor));
        c.setKeepAlive(5, 3);
        LifecycleListener l = (domain, event) -> {
            String name = nameOf(domain);
            Object detail = event.getDetail();
            LifecycleEvents.of(event.getType(), detail).ifPresent(ev -> events.execute(() -> {
                log.info("libvirt {}: {} {}/{}", hypervisor, name, event.getType(), detail);
                listener.onEvent(hypervisor, name, ev, String.valueOf(detail));
            }));
            return 0;
        };
        c.addLifecycleListener(l);
        log.info("libvirt: connected to {} at {}", hypervisor, uris.get(hypervisor));
        return c;
    }

    /** Reopens every connection that is no longer alive; one that cannot be reopened is tried again later. */
    private synchronized void reconnectDead() {
        for (String hypervisor : held) {
            Connect c = connections.get(hypervisor);
            try {
                if (c != null && c.isAlive()) continue;
            } catch (LibvirtException e) {
                // a closed connection cannot even say so: reopen it
            }
            try {
                Connect fresh = open(hypervisor);
                connections.put(hypervisor, fresh);
                log.warn("libvirt: reconnected to {}", hypervisor);
                if (c != null) {
                    try {
                        c.close();
                    } catch (LibvirtException ignored) {
                        // it is dead already
                    }
                }
            } catch (LibvirtException e) {
                log.warn("libvirt: {} unreachable, retrying in {} s: {}", hypervisor, RECONNECT_CHECK_SECONDS, e.getMessage());
            }
        }
    }

    /** libvirt's event loop must be registered before the first connection; it runs on one daemon thread. */
    private static synchronized void startEventLoop() throws LibvirtException {
        if (eventLoopStarted) return;
        Library.initEventLoop();
        Thread t = new Thread(() -> {
            try {
                Library.runEventLoop();
            } catch (LibvirtException e) {
                log.error("libvirt event loop ended: {}", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "libvirt-event-loop");
        t.setDaemon(true);
        t.start();
        eventLoopStarted = true;
    }

    @Override
    public boolean manages(String hypervisor) {
        return uris.containsKey(hypervisor);
    }

    /** True if this driver holds the hypervisor's connection (its events come here, its migrations start here). */
    public synchronized boolean holds(String hypervisor) {
        return held.contains(hypervisor);
    }

    /** Connects to the hypervisor's libvirt from now on (if it has a URI); a failed connect is retried by the watchdog. */
    public synchronized void hold(String hypervisor) {
        if (!uris.containsKey(hypervisor) || !held.add(hypervisor)) return;
        try {
            connections.put(hypervisor, open(hypervisor));
        } catch (LibvirtException e) {
            log.warn("libvirt: {} unreachable, retrying in {} s: {}", hypervisor, RECONNECT_CHECK_SECONDS, e.getMessage());
        }
    }

    /** Closes the hypervisor's connection: its events no longer come here. */
    public synchronized void release(String hypervisor) {
        if (!held.remove(hypervisor)) return;
        Connect c = connections.remove(hypervisor);
        if (c == null) return;
        try {
            c.close();
            log.info("libvirt: disconnected from {}", hypervisor);
        } catch (LibvirtException e) {
            log.warn("libvirt: closing the connection to {}: {}", hypervisor, e.getMessage());
        }
    }

    /** The domain's interfaces as its hypervisor's libvirt describes them now. */
    public List<DomainInterface> interfaces(String hypervisor, String domain) throws LibvirtException {
        return DomainXml.interfaces(connection(hypervisor).domainLookupByName(domain).getXMLDesc(0));
    }

    /**
     * Starts a live migration of {@code domain} from one hypervisor to another; completes when libvirt's job
     * has finished (the domain runs at the destination), fails with libvirt's error otherwise.
     * @param destinationBridge the destination's bridge when it is not the source's
     */
    @Override
    public CompletableFuture<MigrationResult> migrate(String domain, String from, String to, Optional<String> destinationBridge) {
        Connect src = connection(from);
        String dest = Optional.ofNullable(uris.get(to)).orElseThrow(() ->
                new IllegalArgumentException("no libvirt URI for hypervisor " + to));
        return CompletableFuture.supplyAsync(() -> {
            long start = System.nanoTime();
            try {
                Domain d = src.domainLookupByName(domain);
                String xml = destinationBridge.map(b -> {
                    try {
                        return DomainXml.withBridge(d.getXMLDesc(Domain.XMLFlags.MIGRATABLE), b);
                    } catch (LibvirtException e) {
                        throw new IllegalStateException(e.getMessage(), e);
                    }
                }).orElse(null);
                log.info("libvirt: migrating {} from {} to {}", domain, from, to);
                d.migrateToURI(dest, null, xml, MIGRATE_FLAGS, null, 0);
            } catch (LibvirtException e) {
                throw new IllegalStateException("libvirt migration of " + domain + " from " + from + " to " + to
                        + " failed: " + e.getMessage(), e);
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            log.info("libvirt: {} migrated from {} to {} in {} ms", domain, from, to, ms);
            return new MigrationResult(domain, from, to, ms);
        }, jobs);
    }

    private synchronized Connect connection(String hypervisor) {
        Connect c = connections.get(hypervisor);
        if (c == null) throw new IllegalArgumentException("no libvirt connection for hypervisor " + hypervisor);
        return c;
    }

    private static String nameOf(Domain d) {
        try {
            return d.getName();
        } catch (LibvirtException e) {
            return "?";
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public synchronized void close() {
        watchdog.shutdownNow();
        jobs.shutdownNow();
        events.shutdownNow();
        for (var e : connections.entrySet()) {
            try {
                e.getValue().close();
            } catch (LibvirtException ex) {
                log.warn("libvirt: closing the connection to {}: {}", e.getKey(), ex.getMessage());
            }
        }
        connections.clear();
    }
}
