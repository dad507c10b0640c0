package virtualwire.openflow.ovs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A real Open vSwitch bridge for integration tests: userspace datapath, OpenFlow 1.3 only, fail_mode=secure,
 * with namespaces attached by veth as "VMs". Names are unique per instance; {@link #close()} removes
 * everything it made, also after a failed test.
 */
public final class OvsBridge implements AutoCloseable {
    public final String name;
    public final long dpid;
    private final List<String> namespaces = new ArrayList<>();
    private final List<String> veths = new ArrayList<>();
    private boolean deleted;

    public OvsBridge(int controllerPort) {
        String id = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
        this.name = "vwt" + id;
        this.dpid = ThreadLocalRandom.current().nextLong(1, 1L << 48);
        Shell.run("ovs-vsctl", "--timeout=10", "add-br", name, "--", "set", "bridge", name, "datapath_type=netdev",
                "protocols=OpenFlow13", "fail_mode=secure", String.format("other-config:datapath-id=%016x", dpid));
        try {
            setController(controllerPort);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public void setController(int port) {
        Shell.run("ovs-vsctl", "--timeout=10", "set-controller", name, "tcp:127.0.0.1:" + port, "--",
                "set", "controller", name, "connection-mode=out-of-band", "max_backoff=1000");
    }

    /** Points the bridge at several controllers at once (out-of-band each), as a controller cluster's switches. */
    public void setControllers(int... ports) {
        List<String> cmd = new ArrayList<>(List.of("ovs-vsctl", "--timeout=10"));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < ports.length; i++) {
            ids.add("@c" + i);
            cmd.addAll(List.of("--", "--id=@c" + i, "create", "controller", "target=\"tcp:127.0.0.1:" + ports[i] + "\"",
                    "connection-mode=out-of-band", "max_backoff=1000"));
        }
        cmd.addAll(List.of("--", "set", "bridge", name, "controller=[" + String.join(",", ids) + "]"));
        Shell.run(cmd.toArray(String[]::new));
    }

    /** The role Open vSwitch holds for each controller target (`ovs-vsctl list controller`: master, slave, other). */
    public java.util.Map<String, String> controllerRoles() {
        java.util.Map<String, String> roles = new java.util.TreeMap<>();
        Shell.run("ovs-vsctl", "--timeout=10", "--format=csv", "--data=bare", "--no-headings", "--columns=target,role",
                "list", "controller").lines().filter(l -> !l.isBlank()).forEach(l -> {
                    int comma = l.lastIndexOf(',');
                    roles.put(l.substring(0, comma).replace("\"", ""), l.substring(comma + 1));
                });
        return roles;
    }

    /**
     * Connects over TLS ({@code ssl:} target); the certificates are the Open vSwitch's, one set for all its
     * bridges ({@code ovs-vsctl set-ssl}): see {@link #useSsl}.
     */
    public void setSslController(int port) {
        Shell.run("ovs-vsctl", "--timeout=10", "set-controller", name, "ssl:127.0.0.1:" + port, "--",
                "set", "controller", name, "connection-mode=out-of-band", "max_backoff=1000");
    }

    /** The Open vSwitch's TLS key, certificate and trusted CA (global: every ssl: target uses them). */
    public static void useSsl(String privateKey, String certificate, String caCertificate) {
        Shell.run("ovs-vsctl", "--timeout=10", "set-ssl", privateKey, certificate, caCertificate);
    }

    public static void removeSsl() {
        Shell.run("ovs-vsctl", "--timeout=10", "del-ssl");
    }

    /** A namespace with one NIC (veth) whose peer is a port of this bridge; returns the port name. */
    public String addNamespace(String suffix, String cidr) {
        return addNamespace(suffix, cidr, null);
    }

    /** As {@link #addNamespace(String, String)}, with the NIC's MAC address set (null: random). */
    public String addNamespace(String suffix, String cidr, String mac) {
        String ns = name + "-" + suffix;
        String port = name + suffix;     // the bridge-side veth, also the OpenFlow port name
        namespaces.add(ns);
        veths.add(port);
        Shell.run("ip", "netns", "add", ns);
        // No IPv6 chatter (DAD, router solicitations): a test's traffic is only what the test sends.
        Shell.run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        Shell.run("ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Shell.run("ip", "link", "set", port, "up");
        if (mac != null) Shell.run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "address", mac);
        Shell.run("ip", "netns", "exec", ns, "ip", "addr", "add", cidr, "dev", "eth0");
        Shell.run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        Shell.run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
        // Userspace datapath: checksums offloaded by the veth would never be filled in.
        Shell.run("ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off");
        Shell.run("ovs-vsctl", "--timeout=10", "add-port", name, port);
        return port;
    }

    public String namespace(String suffix) {
        return name + "-" + suffix;
    }

    /** One ping with a one-second deadline from a namespace. */
    public boolean ping(String fromSuffix, String ip) {
        return Shell.exec("ip", "netns", "exec", namespace(fromSuffix), "ping", "-c", "1", "-W", "1", ip).ok();
    }

    /** Deletes one flow behind the controller's back, as an operator with ovs-ofctl would. */
    public void deleteFlowStrict(String match) {
        Shell.run("ovs-ofctl", "-O", "OpenFlow13", "--strict", "del-flows", name, match);
    }

    public int ofport(String portName) {
        return Integer.parseInt(Shell.run("ovs-vsctl", "--timeout=10", "get", "interface", portName, "ofport").trim());
    }

    /** `ovs-ofctl dump-flows` lines of this bridge, with port numbers and without the reply header. */
    public List<String> dumpFlows() {
        return Shell.run("ovs-ofctl", "-O", "OpenFlow13", "--no-names", "dump-flows", name).lines()
                .filter(l -> l.contains("actions=")).map(String::trim).toList();
    }

    /** The bridge's rules without durations and counters, sorted: what a controller change may alter. */
    public List<String> rules() {
        return dumpFlows().stream()
                .map(f -> f.replaceAll("duration=[^,]*, ", "").replaceAll("n_packets=\\d+, n_bytes=\\d+, ", ""))
                .sorted().toList();
    }

    public boolean isConnected() {
        return Shell.exec("ovs-vsctl", "--timeout=10", "get", "controller", name, "is_connected").out().trim().equals("true");
    }

    public void deleteBridge() {
        Shell.run("ovs-vsctl", "--timeout=10", "del-br", name);
        deleted = true;
    }

    @Override
    public void close() {
        List<String[]> steps = new ArrayList<>();
        if (!deleted) steps.add(new String[] {"ovs-vsctl", "--timeout=10", "--if-exists", "del-br", name});
        for (String v : veths) steps.add(new String[] {"ip", "link", "del", v});
        for (String ns : namespaces) steps.add(new String[] {"ip", "netns", "del", ns});
        // A veth already gone with its namespace is fine; anything else is reported, not hidden.
        Shell.runAll(steps).stream().filter(f -> !f.contains("Cannot find device")).forEach(f -> System.err.println("cleanup: " + f));
    }
}
