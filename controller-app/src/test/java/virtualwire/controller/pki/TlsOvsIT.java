package virtualwire.controller.pki;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.LoggerFactory;
import virtualwire.openflow.channel.OpenFlowConfig;
import virtualwire.openflow.channel.OpenFlowServer;
import virtualwire.openflow.ovs.Conditions;
import virtualwire.openflow.ovs.OvsBridge;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchAdmission;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.model.Topology;

/**
 * OpenFlow over mutual TLS with a real Open vSwitch bridge and certificates from {@link FabricPki}: the switch
 * with its own certificate connects (TLS 1.3); plain TCP, a certificate from another CA and another
 * hypervisor's certificate are refused; a second connection claiming the datapath id of the live switch is
 * refused, over TLS with the switch's own certificate and in the plain TCP development mode; a datapath id the
 * admission does not know is refused. Each refusal is asserted on the controller's log line naming it.
 */
public class TlsOvsIT {
    private static final Duration DEADLINE = Duration.ofSeconds(20);
    /** The one other datapath id admitted: "another hypervisor" of the fabric. */
    private static final DatapathId OTHER = DatapathId.of(0xbeefL);

    private Path dir;
    private FabricPki pki;
    private final SwitchRegistry registry = new SwitchRegistry();
    private OpenFlowServer server;
    private OvsBridge bridge;
    private int port;
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger channelLog = (Logger) LoggerFactory.getLogger("virtualwire.openflow.channel.SwitchChannelHandler");

    @Before
    public void setUp() throws Exception {
        dir = Files.createTempDirectory("vw-tls-it");
        pki = new FabricPki(new PkiLayout(dir.resolve("pki")));
        pki.ensure(Topology.empty());   // the CAs and the controller's certificate
        log.start();
        channelLog.addAppender(log);
    }

    /** The listener (TLS unless plaintext), then a bridge pointed at it over plain TCP (its first target). */
    private void start(boolean plaintext) throws Exception {
        OpenFlowConfig config = OpenFlowConfig.defaults().withPort(0);
        if (!plaintext) config = config.withTls(pki.layout().openFlowTls());
        SwitchAdmission admission = dpid -> bridge != null && dpid.getLong() == bridge.dpid || dpid.equals(OTHER)
                ? Optional.empty() : Optional.of("not in the topology");
        server = new OpenFlowServer(config, registry, admission);
        port = server.start();
        bridge = new OvsBridge(port);
    }

    @After
    public void tearDown() throws Exception {
        channelLog.detachAppender(log);
        if (server != null) server.close();
        if (bridge != null) bridge.close();
        OvsBridge.removeSsl();
        try (var files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private DatapathId dpid() {
        return DatapathId.of(bridge.dpid);
    }

    /** Points the bridge at the listener over TLS with the switch certificate issued as {@code name}. */
    private void connectOverTls(FabricPki from, String name) {
        PkiLayout l = from.layout();
        OvsBridge.useSsl(l.switchKey(name).toString(), l.switchCert(name).toString(), pki.layout().controllerCa().toString());
        bridge.setSslController(port);
    }

    private List<String> logLines() {
        return List.copyOf(log.list).stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    private void awaitLog(String what, java.util.function.Predicate<String> line) {
        Conditions.await(what, DEADLINE, () -> logLines().stream().anyMatch(line));
    }

    private OpenFlowSwitch awaitConnected() {
        Conditions.await("the bridge registered", DEADLINE, () -> registry.get(dpid()).isPresent());
        return registry.get(dpid()).orElseThrow();
    }

    @Test
    public void switchWithItsOwnCertificateConnectsOverTls13() throws Exception {
        start(false);
        pki.issueSwitch("hv1", dpid());
        connectOverTls(pki, "hv1");
        awaitConnected();
        Conditions.await("OVS reports the connection", DEADLINE, bridge::isConnected);
        assertTrue(logLines().toString(), logLines().stream().anyMatch(l -> l.startsWith("TLS (TLSv1.3")
                && l.contains("CN=dpid:" + String.format("%016x", bridge.dpid))));
    }

    @Test
    public void plainTcpIsRefusedWhenTlsIsOn() throws Exception {
        start(false);   // the bridge's first target is tcp:
        awaitLog("a refused plain TCP handshake", l -> l.contains("TLS handshake failed") && l.contains("not an SSL/TLS record"));
        assertTrue(registry.all().isEmpty());
    }

    @Test
    public void certificateFromAnotherCaIsRefused() throws Exception {
        start(false);
        FabricPki stranger = new FabricPki(new PkiLayout(dir.resolve("other-pki")));
        stranger.ensure(Topology.empty());
        stranger.issueSwitch("hv1", dpid());   // the right datapath id, the wrong CA
        log.list.clear();
        connectOverTls(stranger, "hv1");
        awaitLog("a refused TLS handshake", l -> l.contains("TLS handshake failed") && !l.contains("not an SSL/TLS record"));
        assertTrue(registry.all().isEmpty());
        assertTrue(logLines().stream().noneMatch(l -> l.startsWith("TLS (")));
    }

    @Test
    public void anotherHypervisorsCertificateIsRefused() throws Exception {
        start(false);
        pki.issueSwitch("hv2", OTHER);   // valid, from the fabric's CA, for another admitted datapath id
        connectOverTls(pki, "hv2");
        awaitLog("the refusal naming both datapath ids", l -> l.startsWith("refused switch " + dpid())
                && l.contains("issued for datapath id " + OTHER));
        assertTrue(registry.all().isEmpty());
    }

    @Test
    public void hijackerWithTheSwitchsOwnCertificateIsRefusedWhileTheSwitchAnswersEchoes() throws Exception {
        start(false);
        pki.issueSwitch("hv1", dpid());
        connectOverTls(pki, "hv1");
        OpenFlowSwitch live = awaitConnected();
        PkiLayout l = pki.layout();
        try (FakeSwitch fake = FakeSwitch.tls(port, l.switchCert("hv1"), l.switchKey("hv1"), l.controllerCa())) {
            fake.claim(bridge.dpid, "hijacked");
            assertTrue("the hijacker's connection is closed", fake.closedWithin(DEADLINE));
        }
        assertSame(live, registry.get(dpid()).orElseThrow());
        assertTrue(live.isConnected());
        assertTrue(logLines().stream().anyMatch(m -> m.startsWith("refused switch " + dpid()) && m.contains("answered an echo")));
    }

    @Test
    public void hijackerIsRefusedInThePlainTcpDevelopmentModeToo() throws Exception {
        start(true);
        OpenFlowSwitch live = awaitConnected();
        try (FakeSwitch fake = FakeSwitch.plain(port)) {
            fake.claim(bridge.dpid, "hijacked");
            assertTrue("the hijacker's connection is closed", fake.closedWithin(DEADLINE));
        }
        assertSame(live, registry.get(dpid()).orElseThrow());
        assertTrue(live.isConnected());
        assertEquals(List.of(dpid()), registry.all().stream().map(OpenFlowSwitch::dpid).toList());
    }

    @Test
    public void datapathIdOutsideTheAdmissionIsRefused() throws Exception {
        start(true);
        awaitConnected();
        try (FakeSwitch fake = FakeSwitch.plain(port)) {
            fake.claim(0xdeadL, "stranger-port");
            assertTrue("the stranger's connection is closed", fake.closedWithin(DEADLINE));
        }
        awaitLog("the refusal naming the datapath id", l -> l.startsWith("refused switch " + DatapathId.of(0xdeadL))
                && l.contains("not in the topology"));
        assertTrue(registry.get(DatapathId.of(0xdeadL)).isEmpty());
    }
}
