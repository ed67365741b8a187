"""Alembic against rewinddb, as a project uses it: `alembic revision --autogenerate` compares
the models with what the SQLAlchemy Inspector reflects (tables, column types, nullability,
server defaults, identity, comments, primary/foreign/unique keys, checks' presence, indexes),
`alembic upgrade head` runs the generated migration and records it in alembic_version, a
second autogenerate finds nothing left to do, and `downgrade base` undoes it all.

Driven through Alembic's command API with a real script directory and env.py (what
`alembic init` writes, reduced to the online mode), on a fresh server so no other test's
tables show up in the comparison."""
from __future__ import annotations

import sys
import textwrap

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
ENV_PY = """
from alembic import context
from sqlalchemy import create_engine

from models import metadata

connectable = create_engine(context.config.get_main_option("sqlalchemy.url"))
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True,
                      compare_server_default=True)
    with context.begin_transaction():
        context.run_migrations()
"""

MODELS_V1 = """
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()
author = sa.Table(
    "author", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(80), nullable=False, unique=True),
    sa.Column("born", sa.Date),
    sa.Column("rating", sa.Numeric(4, 1), server_default="0"),
    sa.Column("created", sa.DateTime(timezone=True), server_default=sa.func.now()),
    comment="people who write")
book = sa.Table(
    "book", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("author_id", sa.Integer, sa.ForeignKey("author.id", ondelete="CASCADE"), nullable=False),
    sa.Column("title", sa.Text, nullable=False, comment="as printed"),
    sa.Column("tags", sa.ARRAY(sa.Text)),
    sa.Column("meta", JSONB),
    sa.Column("flag", sa.Boolean, server_default=sa.true()),
    sa.Index("book_title_idx", "title"),
    sa.UniqueConstraint("author_id", "title", name="book_author_title_key"),
    sa.CheckConstraint("length(title) > 0", name="book_title_check"))
"""

MODELS_V2 = MODELS_V1.replace('    sa.Column("born", sa.Date),\n',
                              '    sa.Column("born", sa.Date),\n    sa.Column("email", sa.Text),\n')


def _project(tmp_path, url: str) -> Config:
    scripts = tmp_path / "migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(ENV_PY)
    (scripts / "script.py.mako").write_text(textwrap.dedent('''\
        """${message}"""
        import sqlalchemy as sa
        from alembic import op
        from sqlalchemy.dialects import postgresql

        revision = ${repr(up_revision)}
        down_revision = ${repr(down_revision)}
        branch_labels = None
        depends_on = None


        def upgrade():
            ${upgrades if upgrades else "pass"}


        def downgrade():
            ${downgrades if downgrades else "pass"}
        '''))
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _write_models(tmp_path, text: str, monkeypatch) -> None:
    (tmp_path / "models.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("models", None)


def test_autogenerate_upgrade_and_downgrade(fresh_server, tmp_path, monkeypatch):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{fresh_server.port}/postgres"
    config = _project(tmp_path, url)
    scripts = ScriptDirectory.from_config(config)
    _write_models(tmp_path, MODELS_V1, monkeypatch)

    first = command.revision(config, message="create author and book", autogenerate=True, rev_id="0001")
    source = open(first.path).read()
    assert "op.create_table('author'" in source and "op.create_table('book'" in source
    assert "op.create_index('book_title_idx'" in source
    command.upgrade(config, "head")

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        inspector = sa.inspect(conn)
        assert sorted(inspector.get_table_names()) == ["alembic_version", "author", "book"]
        assert inspector.get_table_comment("author") == {"text": "people who write"}
        [fk] = inspector.get_foreign_keys("book")
        assert (fk["referred_table"], fk["constrained_columns"], fk["options"]) == \
            ("author", ["author_id"], {"ondelete": "CASCADE"})
        # the models and the database now agree on everything autogenerate compares
        import models
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, models.metadata) == []
        conn.execute(sa.text("INSERT INTO author (name) VALUES ('Ursula')"))
        conn.execute(sa.text("INSERT INTO book (author_id, title, tags, meta) "
                             "VALUES (1, 'The Dispossessed', '{sf,anarchy}', '{\"year\": 1974}')"))
        conn.commit()

    # a second revision: one new column, nothing else
    _write_models(tmp_path, MODELS_V2, monkeypatch)
    second = command.revision(config, message="author email", autogenerate=True, rev_id="0002")
    source = open(second.path).read()
    assert "op.add_column('author', sa.Column('email', sa.Text(), nullable=True))" in source
    assert "create_table" not in source and "alter_column" not in source and "create_index" not in source
    command.upgrade(config, "head")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0002"
        assert [c["name"] for c in sa.inspect(conn).get_columns("author")][-1] == "email"
        assert conn.execute(sa.text("SELECT b.title, a.name, a.email FROM book b JOIN author a ON a.id = b.author_id")
                            ).one() == ("The Dispossessed", "Ursula", None)
    assert [s.revision for s in scripts.walk_revisions()] == ["0002", "0001"]

    command.downgrade(config, "base")
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == ["alembic_version"]
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 0
    engine.dispose()
