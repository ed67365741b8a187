// node-postgres (the `pg` package) against rewinddb: parameters (extended protocol), named
// prepared statements, types, a transaction rolled back, an error's SQLSTATE, rowMode array.
// Prints one JSON object for the Python test to check.
const { Client } = require("pg");

async function main() {
  const client = new Client({ host: "127.0.0.1", port: Number(process.argv[2]), user: "postgres", database: "postgres" });
  await client.connect();
  const out = {};
  await client.query("CREATE TABLE notes (id int PRIMARY KEY, body text, created timestamptz, score numeric(5,2), tags text[], meta jsonb)");
  for (let i = 1; i <= 3; i++) {
    await client.query({
      name: "add-note",                       // a named prepared statement, parsed once
      text: "INSERT INTO notes VALUES ($1, $2, $3, $4, $5, $6)",
      values: [i, `note ${i}`, new Date(Date.UTC(2024, 0, i, 12, 0, 0)), i + 0.25, ["a", `t${i}`], { n: i }],
    });
  }
  const rows = await client.query("SELECT id, body, created, score, tags, meta FROM notes WHERE id >= $1 ORDER BY id", [2]);
  out.rows = rows.rows.map((r) => [r.id, r.body, r.created.toISOString(), r.score, r.tags, r.meta]);
  out.command = rows.command;
  out.arrays = (await client.query({ text: "SELECT count(*), max(id) FROM notes", rowMode: "array" })).rows;
  await client.query("BEGIN");
  await client.query("DELETE FROM notes");
  await client.query("ROLLBACK");
  out.afterRollback = (await client.query("SELECT count(*)::int AS n FROM notes")).rows[0].n;
  try {
    await client.query("INSERT INTO notes (id) VALUES ($1)", [1]);
  } catch (e) {
    out.error = e.code;
  }
  out.fields = rows.fields.map((f) => [f.name, f.dataTypeID]);
  await client.end();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
