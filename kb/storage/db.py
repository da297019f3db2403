"""Opening a KB: where the database is, migrating it, and the unit of work.

The URL comes from the caller (`--db`), else `KB_DATABASE_URL`, else a SQLite file in the user
data directory. Opening migrates the schema to the newest revision; a SQLite file that a
migration would change is copied aside first.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, cast

import orjson
import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from kb.errors import KbError, SchemaError
from kb.model.orm import Base, utcnow

ENV_URL = "KB_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def default_sqlite_path() -> Path:
    return Path(platformdirs.user_data_dir("kb-curator", appauthor=False)) / "kb.sqlite"


def resolve_url(url: str | None = None) -> str:
    """The database URL to use: the argument, else $KB_DATABASE_URL, else the default file."""
    if url:
        return _normalise(url)
    env = os.environ.get(ENV_URL)
    if env:
        return _normalise(env)
    return f"sqlite:///{default_sqlite_path()}"


def _normalise(url: str) -> str:
    # A bare path is a SQLite file; postgresql:// means psycopg 3, the driver we ship.
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


SQLITE_PAGE_SIZE = 16_384


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (below); the driver's own transaction handling would defer it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    # A new KB file gets 16 KiB pages (SQLite's default is 4 KiB): records and changes carry
    # their fields as JSON of a few hundred bytes, and larger pages store 100,000 imported
    # changes in 0.83× the time (fewer pages, WAL frames and index levels). An existing file
    # keeps its page size (this is a no-op once it has tables).
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    # WAL: readers (the app's background loads) never block a writer, nor a writer them.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    # A write transaction takes the write lock when it starts (BEGIN IMMEDIATE), so two writers
    # queue on busy_timeout instead of both reading and then failing to upgrade their lock.
    write = connection.get_execution_options().get("kb_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for `url`, with SQLite set up to enforce foreign keys."""
    url = _normalise(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=json_text, json_deserializer=orjson.loads)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return create_engine(
        url, pool_pre_ping=True, json_serializer=json_text, json_deserializer=orjson.loads
    )


def json_text(value: Any) -> str:
    """A JSON column's text, as the database stores it (compact; not the canonical form that
    digests use, which is kb.release's)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, *, backup: bool = True) -> Path | None:
    """Upgrade the schema to head; return the backup file made first, if any.

    Refuses a database whose schema is newer than this app knows (it would be damaged).
    """
    script = ScriptDirectory.from_config(alembic_config())
    current = current_revision(engine)
    head = script.get_current_head()
    if current == head:
        return None
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise SchemaError(
            f"the database schema (revision {current}) is newer than this version of KB Curator "
            f"knows (newest {head}); upgrade the app"
        )
    saved = None
    if backup and is_sqlite(str(engine.url)) and _has_tables(engine):
        saved = backup_sqlite(engine, suffix=f"before-{head}")
    command.upgrade(alembic_config(engine), "head")
    return saved


def _has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def backup_sqlite(engine: Engine, *, suffix: str) -> Path:
    """Copy a SQLite KB with SQLite's online backup (safe while it is open)."""
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        raise KbError("only a SQLite file can be backed up")
    source = Path(database)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    target = source.with_name(f"{source.name}.{stamp}.{suffix}.bak")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


@dataclass
class Kb:
    """An open knowledge base: its engine and a factory for units of work."""

    url: str
    engine: Engine
    backup_path: Path | None = None

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = self.engine.execution_options(kb_write=True)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        session = self._sessions(bind=self._writer)
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        session = self._sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    def close(self) -> None:
        self.engine.dispose()


def open_kb(url: str | None = None, *, migrate_schema: bool = True) -> Kb:
    """Open (and by default migrate) the KB at `url` (see `resolve_url`)."""
    resolved = resolve_url(url)
    engine = make_engine(resolved)
    try:
        saved = migrate(engine) if migrate_schema else None
    except SchemaError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise KbError(f"cannot open the KB at {_safe(resolved)}: {exc}") from exc
    return Kb(resolved, engine, saved)


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def display_url(url: str | None = None) -> str:
    """`url` as resolved, with any password hidden: safe to show and to log."""
    return _safe(resolve_url(url))


def kb_exists(url: str | None = None) -> bool:
    """Whether a KB (a schema Alembic has stamped) is at `url`, without creating anything: an
    SQLite file that is not there stays not there."""
    resolved = resolve_url(url)
    if is_sqlite(resolved):
        database = make_url(resolved).database
        if not database or database == ":memory:" or not Path(database).is_file():
            return False
    engine = create_engine(resolved)
    try:
        with engine.connect() as connection:
            return inspect(connection).has_table("alembic_version")
    except Exception:  # unreachable server, bad credentials: open_kb says which, in one line
        return True
    finally:
        engine.dispose()


def bulk_insert(
    session: Session,
    model: type[Base],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch: int = 5_000,
) -> int:
    """Insert many rows, given as tuples in `columns` order, in the session's transaction.

    Each value goes through its column type's bind processor, as SQLAlchemy's own executemany
    would (JSON serialised, datetimes formatted for SQLite, enums as values), but the statement
    is compiled once and the rows go to the driver's executemany as they are: for 100,000 staged
    changes the per-row parameter handling of `session.execute(insert(...), dicts)` cost three
    times the database's own work. Each batch is handled column by column (transposed, each
    column processed, transposed back), so the work per row runs in C, not in a Python loop.
    Returns the number of rows.
    """
    table = cast(Table, model.__table__)
    connection = session.connection()
    dialect = connection.dialect
    names = list(columns)
    compiled = table.insert().compile(dialect=dialect, column_keys=names)
    sql = str(compiled)
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    active = [(index, p) for index, p in enumerate(processors) if p is not None]
    positions = compiled.positiontup
    order = None if positions is None else [names.index(name) for name in positions]
    if order == list(range(len(names))):
        order = None  # already in the statement's order
    count = 0
    source = iter(rows)
    while chunk := list(islice(source, batch)):
        count += len(chunk)
        values: list[Sequence[Any]] = list(zip(*chunk, strict=True))
        if len(values) != len(names):
            raise ValueError(f"bulk_insert: rows of {len(values)} values for {len(names)} columns")
        for index, process in active:
            values[index] = _processed(process, values[index])
        if positions is None:
            params: list[Any] = [
                dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)
            ]
        else:
            columns_in_order = values if order is None else [values[i] for i in order]
            params = list(zip(*columns_in_order, strict=True))
        connection.exec_driver_sql(sql, params)
    return count


def _processed(process: Any, column: Sequence[Any]) -> list[Any]:
    """A column's values through its bind processor. Rows often share value objects (a time
    stamp, an enum member, an empty mapping per batch of staged changes): each such object is
    processed once."""
    ids = list(map(id, column))
    objects = dict(zip(ids, column, strict=True))  # the values are alive: their ids are theirs
    if len(objects) * 2 > len(column):
        return list(map(process, column))
    done = {key: process(value) for key, value in objects.items()}
    return list(map(done.__getitem__, ids))
