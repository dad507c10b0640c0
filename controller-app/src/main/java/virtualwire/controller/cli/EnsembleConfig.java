package virtualwire.controller.cli;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

/**
 * One ZooKeeper server's configuration within an ensemble, from the ensemble's server list: pure parsing and
 * validation (every error names the option and the entry), and the zoo.cfg properties it stands for.
 *
 * <p>Timing, tuned for a controller cluster whose failover is bounded by its ZooKeeper session timeout:
 * <ul>
 *   <li>tickTime 100 ms (ZooKeeper's default is 2000): the server expires sessions in tick-sized buckets, so a
 *       dead controller's session ends at most one tick after its timeout;</li>
 *   <li>minSessionTimeout 2 ticks (200 ms), maxSessionTimeout 600 ticks (60 s): the controller chooses its own
 *       timeout in between (`--zk-session-timeout-ms`); a client asking outside the range is clamped to it;</li>
 *   <li>initLimit 100 ticks (10 s): a restarted follower may take that long to connect and sync a snapshot;</li>
 *   <li>syncLimit 20 ticks (2 s): a follower that long out of touch with the ZooKeeper leader is dropped and
 *       its clients move to another server. Shorter would drop followers of a loaded machine for nothing
 *       (clients then reconnect, which a controller sees as a SUSPENDED connection).</li>
 * </ul>
 */
record EnsembleConfig(int id, List<Server> servers, String dataDir, int tickMs) {
    static final int DEFAULT_TICK_MS = 100;
    static final int INIT_LIMIT_TICKS = 100;
    static final int SYNC_LIMIT_TICKS = 20;
    static final int MIN_SESSION_TICKS = 2;
    static final int MAX_SESSION_TICKS = 600;

    /** One ensemble member: its host and its quorum (peer), leader-election and client ports. */
    record Server(int id, String host, int peerPort, int electionPort, int clientPort) {
        String zooCfgLine() {
            return host + ":" + peerPort + ":" + electionPort + ";" + host + ":" + clientPort;
        }
    }

    EnsembleConfig {
        servers = List.copyOf(servers);
    }

    /** Parses `--servers host:peer:election:client,...` (server N is the N-th entry) and checks `--id`. */
    static EnsembleConfig parse(int id, String serverList, String dataDir, int tickMs) {
        if (serverList == null || serverList.isBlank()) throw new IllegalArgumentException("--servers: missing");
        List<Server> servers = new ArrayList<>();
        String[] entries = serverList.split(",", -1);
        for (int i = 0; i < entries.length; i++) servers.add(server(i + 1, entries[i].trim()));
        Set<String> endpoints = new HashSet<>();
        for (Server s : servers) {
            for (int port : new int[] {s.peerPort(), s.electionPort(), s.clientPort()}) {
                if (!endpoints.add(s.host() + ":" + port)) {
                    throw new IllegalArgumentException("--servers: entry " + s.id() + ": " + s.host() + ":" + port
                            + " is used twice in the list");
                }
            }
        }
        if (id < 1 || id > servers.size()) {
            throw new IllegalArgumentException("--id: " + id + " is not in the server list (1-" + servers.size() + ")");
        }
        if (dataDir == null || dataDir.isBlank()) throw new IllegalArgumentException("--data-dir: missing");
        if (tickMs < 10 || tickMs > 60_000) {
            throw new IllegalArgumentException("--tick-ms: " + tickMs + " is outside 10-60000 ms");
        }
        return new EnsembleConfig(id, servers, dataDir, tickMs);
    }

    private static Server server(int id, String entry) {
        String where = "--servers: entry " + id + " \"" + entry + "\"";
        String[] parts = entry.split(":", -1);
        if (parts.length != 4 || parts[0].isEmpty()) {
            throw new IllegalArgumentException(where + ": expected HOST:PEER_PORT:ELECTION_PORT:CLIENT_PORT");
        }
        int[] ports = new int[3];
        String[] names = {"peer port", "election port", "client port"};
        for (int i = 0; i < 3; i++) {
            try {
                ports[i] = Integer.parseInt(parts[i + 1]);
            } catch (NumberFormatException e) {
                ports[i] = -1;
            }
            if (ports[i] < 1 || ports[i] > 65535) {
                throw new IllegalArgumentException(where + ": " + names[i] + " \"" + parts[i + 1] + "\" is not a TCP port (1-65535)");
            }
        }
        return new Server(id, parts[0], ports[0], ports[1], ports[2]);
    }

    Server self() {
        return servers.get(id - 1);
    }

    /** The zoo.cfg these settings stand for (ZooKeeper's own parser reads them, so its rules apply too). */
    Properties properties() {
        Properties p = new Properties();
        p.setProperty("tickTime", Integer.toString(tickMs));
        p.setProperty("initLimit", Integer.toString(INIT_LIMIT_TICKS));
        p.setProperty("syncLimit", Integer.toString(SYNC_LIMIT_TICKS));
        p.setProperty("minSessionTimeout", Integer.toString(MIN_SESSION_TICKS * tickMs));
        p.setProperty("maxSessionTimeout", Integer.toString(MAX_SESSION_TICKS * tickMs));
        p.setProperty("dataDir", dataDir);
        p.setProperty("clientPort", Integer.toString(self().clientPort()));   // as in its server line (ZooKeeper checks)
        p.setProperty("clientPortAddress", self().host());
        p.setProperty("admin.enableServer", "false");             // no Jetty admin port on 8080 (the API's default)
        p.setProperty("4lw.commands.whitelist", "srvr,ruok,mntr"); // `srvr` tells a harness who leads the ensemble
        p.setProperty("standaloneEnabled", "true");                // a list of one runs a single standalone server
        p.setProperty("reconfigEnabled", "false");                 // membership is the --servers list, nothing else
        for (Server s : servers) p.setProperty("server." + s.id(), s.zooCfgLine());
        return p;
    }
}
