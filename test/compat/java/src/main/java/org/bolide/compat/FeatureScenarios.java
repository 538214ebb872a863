package org.bolide.compat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scenarios of the broker's messaging features (delay, retry/DLQ, filters, transactions, ...), kept out of
 * Scenarios.java so each feature lives in its own class. A feature class exposes its names and options here and
 * runs with the shared driver state (topic, group, deadline, details, problems, client factories) of the
 * Scenarios instance it is handed.
 */
final class FeatureScenarios {
    /** Scenario names handled here, in addition to Scenarios.SCENARIOS. */
    static final List<String> NAMES = new ArrayList<>();

    /** Extra command-line options (name -> description) the feature scenarios read. */
    static final Map<String, String> OPTIONS = new LinkedHashMap<>();

    static {
        NAMES.addAll(TransactionScenarios.NAMES);
        OPTIONS.putAll(TransactionScenarios.OPTIONS);
        FilterScenarios.register(NAMES, OPTIONS);
        NAMES.addAll(CompressionScenarios.NAMES);
        OPTIONS.putAll(CompressionScenarios.OPTIONS);
        DelayRetryScenarios.register(NAMES, OPTIONS);
    }

    private FeatureScenarios() {
    }

    /** Runs the named feature scenario; false when the name is not a feature scenario. */
    static boolean run(String scenario, Scenarios s) throws Exception {
        if (DelayRetryScenarios.NAMES.contains(scenario)) {
            return DelayRetryScenarios.run(scenario, s);
        }
        if (TransactionScenarios.NAMES.contains(scenario)) {
            return TransactionScenarios.run(scenario, s);
        }
        switch (scenario) {
            case FilterScenarios.FILTER_TABLE:
                FilterScenarios.filterTable(s);
                return true;
            case "produce-compressed":
                return CompressionScenarios.run(scenario, s);
            default:
                return false;
        }
    }
}
