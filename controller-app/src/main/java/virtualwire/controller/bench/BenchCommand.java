package virtualwire.controller.bench;

import picocli.CommandLine.Command;

/** `vw bench flows|connect|scale`: control-plane benchmarks (`vw bench migration` is the Python harness's). */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Control-plane benchmarks.",
        subcommands = {FlowsBench.class, ConnectBench.class, ScaleBench.class})
public final class BenchCommand {
}
