package virtualwire.topology.config;

/**
 * One error in a topology file.
 *
 * @param field the document path ({@code vms[1].nics[0].mac}); empty for errors about the file as a whole
 */
public record TopologyError(String source, int line, int column, String field, String message) {
    /** {@code file:line:column: field: message}, the shape compilers use, so editors can jump to it. */
    @Override
    public String toString() {
        String where = source + ":" + line + ":" + column + ": ";
        return field.isEmpty() ? where + message : where + field + ": " + message;
    }
}
