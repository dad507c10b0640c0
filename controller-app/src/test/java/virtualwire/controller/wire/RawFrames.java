package virtualwire.controller.wire;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import virtualwire.openflow.ovs.Shell;

/** Raw Ethernet frames of any ethertype sent and awaited inside namespaces (mininet-tests/tools/rawframe.py). */
final class RawFrames {
    private static final String TOOL = Path.of("..", "mininet-tests", "tools", "rawframe.py").toAbsolutePath().normalize().toString();

    /** A receiver listening in a namespace for a frame with this ethertype and payload. */
    static final class Receiver implements AutoCloseable {
        private final Process process;

        Receiver(String ns, String ethertype, String payload, double seconds) throws Exception {
            process = new ProcessBuilder("ip", "netns", "exec", ns, "/usr/bin/python3", TOOL, "recv", "eth0", ethertype,
                    payload, String.valueOf(seconds)).redirectErrorStream(true).start();
            String first = new BufferedReader(new InputStreamReader(process.getInputStream())).readLine();
            if (!"ready".equals(first)) throw new IllegalStateException("receiver in " + ns + " did not start: " + first);
        }

        /** Waits for the receiver's verdict: true if the frame arrived within its window. */
        boolean received() throws InterruptedException {
            if (!process.waitFor(30, TimeUnit.SECONDS)) throw new IllegalStateException("receiver did not finish");
            return process.exitValue() == 0;
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    static void send(String ns, String dstMac, String ethertype, String payload) {
        Shell.run("ip", "netns", "exec", ns, "/usr/bin/python3", TOOL, "send", "eth0", dstMac, ethertype, payload);
    }

    private RawFrames() {}
}
