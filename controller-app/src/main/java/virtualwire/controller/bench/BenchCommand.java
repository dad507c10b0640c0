package virtualwire.controller.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** `vw bench flows|connect|scale`: control-plane benchmarks (`vw bench migration` is the Python harness's). */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Control-plane benchmarks.",
        subcommands = {FlowsBench.class, ConnectBench.class, ScaleBench.class})
public final class BenchCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "vw bench: name a benchmark: flows, connect or scale");
    }
}
