package virtualwire.controller.console;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class TableTest {
    @Test
    public void columnsAreAsWideAsTheirWidestCellWithNoTrailingBlanks() {
        String table = new Table("name", "state", "reason")
                .row("a-long-name", "active", "")
                .row("w", "pending", "not attached")
                .render();
        assertEquals("""
                NAME         STATE    REASON
                a-long-name  active
                w            pending  not attached
                """, table);
    }

    @Test
    public void nullCellsAreEmptyAndAnEmptyTableIsItsHeader() {
        assertEquals("A  B\nx\n", new Table("a", "b").row("x", null).render());
        assertEquals("A  B\n", new Table("a", "b").render());
    }

    @Test(expected = IllegalArgumentException.class)
    public void aRowMustFillEveryColumn() {
        new Table("a", "b").row("x");
    }
}
