package virtualwire.openflow.request;

import org.projectfloodlight.openflow.protocol.OFErrorMsg;

/** The switch answered a request with an OpenFlow ERROR; names the error type and code. */
public final class OpenFlowErrorException extends RuntimeException {
    private final String errorType;
    private final String code;

    public OpenFlowErrorException(String context, OFErrorMsg error) {
        this(context, error.getErrType().name(), codeOf(error));
    }

    private OpenFlowErrorException(String context, String errorType, String code) {
        super(context + ": switch replied " + errorType + "/" + code);
        this.errorType = errorType;
        this.code = code;
    }

    public String errorType() { return errorType; }
    public String code() { return code; }

    /** Every loxigen error message but EXPERIMENTER has a typed getCode() on its public interface. */
    public static String codeOf(OFErrorMsg error) {
        for (Class<?> type : error.getClass().getInterfaces()) {
            try {
                return String.valueOf(type.getMethod("getCode").invoke(error));
            } catch (ReflectiveOperationException e) {
                // not this interface
            }
        }
        return "UNKNOWN";
    }
}
