package virtualwire.controller.console;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The words of a group {@code migrate} turned into the API's request body. Pure. */
record GroupCommand(List<String> vms, String allIn, String group, List<String> to, int concurrency, boolean dryRun) {
    static final String USAGE = "migrate VM...|--all-in CLOUD|--group NAME to CLOUD|HYPERVISOR... [--concurrency N] [--dry-run]";

    static GroupCommand parse(List<String> args) throws ConsoleCommands.Failure {
        List<String> vms = new ArrayList<>();
        List<String> to = new ArrayList<>();
        String allIn = null;
        String group = null;
        int concurrency = 1;
        boolean dryRun = false;
        boolean afterTo = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--dry-run" -> dryRun = true;
                case "--concurrency" -> concurrency = number(args, ++i);
                case "--all-in" -> allIn = value(args, ++i, a);
                case "--group" -> group = value(args, ++i, a);
                case "to" -> {
                    if (afterTo) throw usage("\"to\" given twice");
                    afterTo = true;
                }
                default -> {
                    if (a.startsWith("--")) throw usage("unknown option " + a);
                    (afterTo ? to : vms).add(a);
                }
            }
        }
        if (!afterTo || to.isEmpty()) throw usage("say where to: ... to CLOUD|HYPERVISOR...");
        int selections = (vms.isEmpty() ? 0 : 1) + (allIn == null ? 0 : 1) + (group == null ? 0 : 1);
        if (selections != 1) throw usage("name VMs, or --all-in CLOUD, or --group NAME (one of them)");
        return new GroupCommand(vms, allIn, group, to, concurrency, dryRun);
    }

    Map<String, Object> body() {
        Map<String, Object> body = new LinkedHashMap<>();
        if (!vms.isEmpty()) body.put("vms", vms);
        if (allIn != null) body.put("allIn", allIn);
        if (group != null) body.put("group", group);
        body.put("to", to.size() == 1 ? to.get(0) : to);
        body.put("concurrency", concurrency);
        body.put("dryRun", dryRun);
        return body;
    }

    private static String value(List<String> args, int i, String option) throws ConsoleCommands.Failure {
        if (i >= args.size() || args.get(i).startsWith("--") || args.get(i).equals("to")) throw usage(option + " needs a name");
        return args.get(i);
    }

    private static int number(List<String> args, int i) throws ConsoleCommands.Failure {
        try {
            return Integer.parseInt(args.get(i));
        } catch (IndexOutOfBoundsException | NumberFormatException e) {
            throw usage("--concurrency needs a number");
        }
    }

    private static ConsoleCommands.Failure usage(String what) {
        return new ConsoleCommands.Failure(what + "; usage: " + USAGE);
    }
}
