import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.UUID;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * The PostgreSQL JDBC driver's protocol paths against rewinddb: a prepared statement run
 * past prepareThreshold (the driver then uses a named server statement and binary results),
 * every common type through setXxx/getXxx, fetch size (a named portal read in pieces with
 * PortalSuspended), batches, CopyManager both ways, SQLSTATEs, a query timeout (CancelRequest). Prints "name: value" lines.
 */
public class WireDriver {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            try (Statement st = conn.createStatement()) {
                st.execute("CREATE TABLE jtypes (id int PRIMARY KEY, big bigint, num numeric(10,3), txt text,"
                        + " ts timestamp, day date, flag boolean, raw bytea, u uuid, dbl float8)");
            }
            try (PreparedStatement insert = conn.prepareStatement(
                    "INSERT INTO jtypes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (int i = 1; i <= 10; i++) {
                    insert.setInt(1, i);
                    insert.setLong(2, 5_000_000_000L * i);
                    insert.setBigDecimal(3, new BigDecimal(i + ".125"));
                    insert.setString(4, "row " + i);
                    insert.setTimestamp(5, Timestamp.valueOf("2024-01-0" + (i % 9 + 1) + " 10:20:30.5"));
                    insert.setDate(6, Date.valueOf("2020-02-" + (10 + i)));
                    insert.setBoolean(7, i % 2 == 0);
                    insert.setBytes(8, new byte[] {(byte) i, (byte) 0xff});
                    insert.setObject(9, new UUID(0, i));
                    insert.setDouble(10, i / 4.0);
                    insert.executeUpdate();
                }
            }
            StringBuilder seen = new StringBuilder();
            try (PreparedStatement select = conn.prepareStatement(
                    "SELECT id, big, num, txt, ts, day, flag, raw, u, dbl FROM jtypes WHERE id = ?")) {
                for (int i = 1; i <= 10; i++) {             // executions 6..10 are server-prepared and binary
                    select.setInt(1, i);
                    try (ResultSet rs = select.executeQuery()) {
                        rs.next();
                        seen.append(rs.getInt(1)).append('|').append(rs.getLong(2)).append('|')
                                .append(rs.getBigDecimal(3)).append('|').append(rs.getString(4)).append('|')
                                .append(rs.getTimestamp(5)).append('|').append(rs.getDate(6)).append('|')
                                .append(rs.getBoolean(7)).append('|').append(rs.getBytes(8)[0]).append('|')
                                .append(rs.getObject(9)).append('|').append(rs.getDouble(10)).append(';');
                    }
                }
            }
            System.out.println("rows: " + seen);

            conn.setAutoCommit(false);
            try (PreparedStatement st = conn.prepareStatement("SELECT id FROM jtypes ORDER BY id")) {
                st.setFetchSize(3);                          // a named portal, fetched 3 rows at a time
                int sum = 0, count = 0;
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        sum += rs.getInt(1);
                        count++;
                    }
                }
                System.out.println("fetched: " + count + " " + sum);
            }
            try (PreparedStatement batch = conn.prepareStatement("UPDATE jtypes SET txt = ? WHERE id = ?")) {
                for (int i = 1; i <= 4; i++) {
                    batch.setString(1, "batched " + i);
                    batch.setInt(2, i);
                    batch.addBatch();
                }
                int[] counts = batch.executeBatch();
                System.out.println("batch: " + counts.length + " " + counts[0]);
            }
            conn.rollback();
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM jtypes WHERE txt LIKE 'batched%'")) {
                rs.next();
                System.out.println("after rollback: " + rs.getInt(1));
            }
            conn.commit();
            conn.setAutoCommit(true);

            CopyManager copy = conn.unwrap(PGConnection.class).getCopyAPI();
            long in = copy.copyIn("COPY jtypes (id, txt) FROM STDIN WITH (FORMAT csv)",
                    new StringReader("100,\"from, copy\"\n101,\n"));
            StringWriter out = new StringWriter();
            long sent = copy.copyOut("COPY (SELECT id, txt FROM jtypes WHERE id >= 100 ORDER BY id) TO STDOUT", out);
            System.out.println("copy: " + in + " " + sent + " " + out.toString().replace("\n", "/").replace("\t", ","));

            try (Statement st = conn.createStatement()) {
                st.executeUpdate("INSERT INTO jtypes (id) VALUES (1)");
            } catch (SQLException e) {
                System.out.println("error: " + e.getSQLState());
            }
            try (Statement st = conn.createStatement()) {
                st.setQueryTimeout(1);                      // the driver sends a CancelRequest after 1 s
                st.executeQuery("SELECT count(*) FROM generate_series(1, 1000) a, generate_series(1, 1000) b,"
                        + " generate_series(1, 1000) c");
            } catch (SQLException e) {
                System.out.println("timeout: " + e.getSQLState());
            }
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SHOW TRANSACTION ISOLATION LEVEL")) {
                rs.next();
                System.out.println("isolation: " + rs.getString(1));
            }
        }
    }
}
