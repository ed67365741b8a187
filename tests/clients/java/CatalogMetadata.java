import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;

/**
 * Prints what a JDBC tool sees of a database through DatabaseMetaData: schemas, tables, catalogs,
 * types, functions, and the columns, keys, indexes, privileges and best row identifier of the
 * tables named on the command line (the foreign keys from the second to the first),
 * the result-set metadata of a query on the first (which the driver reads from pg_attribute),
 * then runs one prepared statement ten times (past the driver's server-prepare threshold).
 * Usage: CatalogMetadata <jdbc url> <table>...  Output: "== <call>", a tab-separated header,
 * rows (NULL as \N), "--".
 */
public class CatalogMetadata {
    public static void main(String[] args) throws SQLException {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            DatabaseMetaData meta = conn.getMetaData();
            print("getDatabaseProductVersion", meta.getDatabaseProductVersion());
            print("getSchemas", meta.getSchemas());
            print("getTables", meta.getTables(null, "public", "%", new String[] {"TABLE", "VIEW"}));
            print("getTableTypes", meta.getTableTypes());
            print("getCatalogs", meta.getCatalogs());
            print("getTypeInfo", meta.getTypeInfo());
            print("getFunctions", meta.getFunctions(null, "pg_catalog", "upper"));
            print("getUDTs", meta.getUDTs(null, "public", "%", null));
            for (int i = 1; i < args.length; i++) {
                String table = args[i];
                print("getColumns " + table, meta.getColumns(null, "public", table, "%"));
                print("getPrimaryKeys " + table, meta.getPrimaryKeys(null, "public", table));
                print("getImportedKeys " + table, meta.getImportedKeys(null, "public", table));
                print("getExportedKeys " + table, meta.getExportedKeys(null, "public", table));
                print("getIndexInfo " + table, meta.getIndexInfo(null, "public", table, false, true));
                print("getTablePrivileges " + table, meta.getTablePrivileges(null, "public", table));
                print("getBestRowIdentifier " + table,
                      meta.getBestRowIdentifier(null, "public", table, DatabaseMetaData.bestRowSession, true));
            }
            if (args.length > 2) {
                print("getCrossReference", meta.getCrossReference(null, "public", args[1], null, "public", args[2]));
            }
            if (args.length > 1) {
                // result-set metadata: pgjdbc looks the columns up in pg_attribute by table oid
                try (PreparedStatement ps = conn.prepareStatement("SELECT * FROM " + args[1]);
                     ResultSet rs = ps.executeQuery()) {
                    ResultSetMetaData md = rs.getMetaData();
                    System.out.println("== resultSetMetaData " + args[1]);
                    System.out.println("column\ttable\tnullable\tautoIncrement\ttype");
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        System.out.println(md.getColumnName(i) + "\t" + md.getTableName(i) + "\t" + md.isNullable(i)
                                + "\t" + md.isAutoIncrement(i) + "\t" + md.getColumnTypeName(i));
                    }
                    System.out.println("--");
                }
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT c.relname, c.relkind FROM pg_catalog.pg_class c WHERE c.relname = ?")) {
                for (int i = 0; i < 10; i++) {
                    ps.setString(1, args.length > 1 ? args[1] : "pg_class");
                    print("prepared " + i, ps.executeQuery());
                }
            }
        }
    }

    static void print(String name, String value) {
        System.out.println("== " + name);
        System.out.println("value");
        System.out.println(value);
        System.out.println("--");
    }

    static void print(String name, ResultSet rs) throws SQLException {
        try (rs) {
            ResultSetMetaData md = rs.getMetaData();
            StringBuilder header = new StringBuilder();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                header.append(i > 1 ? "\t" : "").append(md.getColumnLabel(i));
            }
            System.out.println("== " + name);
            System.out.println(header);
            while (rs.next()) {
                StringBuilder row = new StringBuilder();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    String v = rs.getString(i);
                    row.append(i > 1 ? "\t" : "").append(v == null ? "\\N" : v);
                }
                System.out.println(row);
            }
            System.out.println("--");
        }
    }
}
