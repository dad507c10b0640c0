package virtualwire.controller.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Open vSwitch for benchmarks: runs ovs-vsctl / ovs-ofctl, either against the system's OVS or against a
 * private instance (own ovsdb-server and ovs-vswitchd, own run directory, no namespace) when a second bridge
 * needs a port name the first one already has (port names are unique per OVS instance, e.g. {@code vxlan0}).
 */
final class Ovs implements AutoCloseable {
    private static final String SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";

    private final Map<String, String> env;
    private final Path dir;
    private final List<Process> daemons = new ArrayList<>();
    private String netns;

    private Ovs(Map<String, String> env, Path dir) {
        this.env = env;
        this.dir = dir;
    }

    /** The system's Open vSwitch. */
    static Ovs system() {
        return new Ovs(Map.of(), null);
    }

    /**
     * A private ovsdb-server + ovs-vswitchd (userspace datapath) in a temporary directory; close() stops both.
     * ovs-vswitchd runs in its own network namespace: the userspace datapath's tap device is named ovs-netdev
     * in every instance. It reaches a controller through a Unix socket ({@link UnixRelay}), not the network.
     */
    static Ovs privateInstance() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("vw-ovs");
        Map<String, String> env = new HashMap<>();
        for (String d : List.of("run", "db", "log", "etc")) Files.createDirectories(dir.resolve(d));
        env.put("OVS_RUNDIR", dir.resolve("run").toString());
        env.put("OVS_DBDIR", dir.resolve("db").toString());
        env.put("OVS_LOGDIR", dir.resolve("log").toString());
        env.put("OVS_SYSCONFDIR", dir.resolve("etc").toString());
        Ovs ovs = new Ovs(env, dir);
        try {
            String db = dir.resolve("db/conf.db").toString();
            Path sock = dir.resolve("run/db.sock");
            ovs.run("ovsdb-tool", "create", db, SCHEMA);
            ovs.daemon("ovsdb-server", db, "--remote=punix:" + sock, "--pidfile=" + dir.resolve("run/ovsdb-server.pid"),
                    "--log-file=" + dir.resolve("log/ovsdb-server.log"), "-vconsole:off");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(sock)) {
                if (System.nanoTime() > deadline) throw new IOException("private ovsdb-server did not start");
                Thread.sleep(20);
            }
            ovs.vsctl("--no-wait", "init");
            ovs.netns = "vwns" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
            ovs.run("ip", "netns", "add", ovs.netns);
            ovs.daemon("ip", "netns", "exec", ovs.netns, "ovs-vswitchd", "unix:" + sock, "--pidfile=" + dir.resolve("run/ovs-vswitchd.pid"),
                    "--log-file=" + dir.resolve("log/ovs-vswitchd.log"), "-vconsole:off");
            return ovs;
        } catch (IOException | InterruptedException | RuntimeException e) {
            ovs.close();
            throw e;
        }
    }

    /** A new bridge with a unique name: userspace datapath, OpenFlow 1.3 only, fail_mode=secure, no controller yet. */
    Bridge addBridge() {
        String name = "vwb" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
        long dpid = ThreadLocalRandom.current().nextLong(1, 1L << 48);
        vsctl("add-br", name, "--", "set", "bridge", name, "datapath_type=netdev", "protocols=OpenFlow13",
                "fail_mode=secure", String.format("other-config:datapath-id=%016x", dpid));
        return new Bridge(this, name, dpid);
    }

    String vsctl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ovs-vsctl", "--timeout=20"));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    String ofctl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ovs-ofctl", "-O", "OpenFlow13", "--timeout=120"));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    String rundir() {
        return env.getOrDefault("OVS_RUNDIR", "/var/run/openvswitch");
    }

    String run(String... cmd) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().putAll(env);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.trim());
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", cmd) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + String.join(" ", cmd), e);
        }
    }

    private void daemon(String... cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("log/daemon" + daemons.size() + ".out").toFile());
        pb.environment().putAll(env);
        daemons.add(pb.start());
    }

    @Override
    public void close() {
        for (int i = daemons.size() - 1; i >= 0; i--) {   // vswitchd first, then its database
            Process p = daemons.get(i);
            p.destroy();
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (netns != null) {
            try {
                run("ip", "netns", "del", netns);
            } catch (RuntimeException e) {
                System.err.println("cleanup: " + e.getMessage());
            }
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException ignored) {
                // a temporary directory left behind is harmless
            }
        }
    }

    /** One bridge; close() deletes it (and with it its ports). */
    record Bridge(Ovs ovs, String name, long dpid) implements AutoCloseable {
        void setController(int port) {
            setController("tcp:127.0.0.1:" + port);
        }

        void setController(String target) {
            ovs.vsctl("set-controller", name, target, "--", "set", "controller", name,
                    "connection-mode=out-of-band", "max_backoff=1000");
        }

        /** An internal port (a "VM NIC" without a namespace); returns its OpenFlow port number. */
        void addInternalPort(String port) {
            ovs.vsctl("add-port", name, port, "--", "set", "interface", port, "type=internal");
        }

        void addTunnelPort() {
            ovs.vsctl("add-port", name, "vxlan0", "--", "set", "interface", "vxlan0", "type=vxlan",
                    "options:remote_ip=flow", "options:key=flow");
        }

        int flowCount() {
            String out = ovs.ofctl("dump-aggregate", name);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("flow_count=(\\d+)").matcher(out);
            if (!m.find()) throw new IllegalStateException("no flow_count in: " + out);
            return Integer.parseInt(m.group(1));
        }

        void clearFlows() {
            ovs.ofctl("del-flows", name);
        }

        Path mgmtSocket() {
            return Path.of(ovs.rundir(), name + ".mgmt");
        }

        @Override
        public void close() {
            try {
                ovs.vsctl("--if-exists", "del-br", name);
            } catch (RuntimeException e) {
                System.err.println("cleanup: " + e.getMessage());
            }
        }
    }
}
