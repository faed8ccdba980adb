"""receivables ledger: dated balance changes, open totals per client, currency and due date, daily sales

Revision ID: 0011_receivables_ledger
Revises: 0010_pages
Create Date: 2026-11-27 12:50:00

The three tables are written only by triggers on invoices, allocations, credit notes and
write-offs (and, for the totals and sales, on the changes themselves), so every writer keeps
them right. The existing book is posted once here, before the triggers exist.
"""

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0011_receivables_ledger"
down_revision: str | None = "0010_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHANGE_COLUMNS = "invoice_id, client_id, currency, due_date, effective_on, kind, amount_minor"

BACKFILL_TOTALS = """
INSERT INTO receivable_totals (client_id, currency, due_date, amount_minor)
SELECT client_id, currency, due_date, sum(amount_minor) FROM receivable_changes
GROUP BY client_id, currency, due_date HAVING sum(amount_minor) <> 0
"""
BACKFILL_SALES = """
INSERT INTO receivable_sales (currency, day, amount_minor, entries)
SELECT currency, effective_on, sum(amount_minor), count(*) FROM receivable_changes
WHERE kind IN ('invoice', 'credit_note') GROUP BY currency, effective_on
"""


class Post(NamedTuple):
    """One change an event row posts: its date column, kind, signed amount column, and condition."""

    date: str
    kind: str
    sign: str
    amount: str
    only_if_set: bool = False
    """Post only when the date column is set (a voiding, a reversal)."""


# What an inserted row of each table posts. An invoice carries its own client, currency and due
# date; the others take them from their invoice.
INSERT_POSTS: dict[str, list[Post]] = {
    "invoices": [Post("issue_date", "invoice", "", "total_minor"), Post("voided_on", "void", "-", "total_minor", True)],
    "allocations": [
        Post("applied_on", "allocation", "-", "amount_minor"),
        Post("reversed_on", "reversal", "", "amount_minor", True),
    ],
    "credit_notes": [Post("issued_on", "credit_note", "-", "amount_minor")],
    "write_offs": [Post("written_off_on", "write_off", "-", "amount_minor")],
}
# A voiding or reversal date changed (set, cleared or moved): take back what the old date
# posted (OLD, the opposite sign) and post the new one (NEW).
UPDATE_POSTS: dict[str, Post] = {
    "invoices": Post("voided_on", "void", "-", "total_minor", True),
    "allocations": Post("reversed_on", "reversal", "", "amount_minor", True),
}


def post_select(table: str, post: Post, row: str, *, from_rows: bool, sign: str | None = None) -> str:
    """The SELECT of the change rows `post` makes from `row`: a table or transition table to read
    (`from_rows`), or the trigger's NEW / OLD record."""
    sign = post.sign if sign is None else sign
    values = f"{row}.{post.date}, '{post.kind}', {sign}{row}.{post.amount}"
    conditions = [f"{row}.{post.date} IS NOT NULL"] if post.only_if_set else []
    if table == "invoices":
        select = f"SELECT {row}.id, {row}.client_id, {row}.currency, {row}.due_date, {values}"
        source = f" FROM {row}" if from_rows else ""
    else:
        select = f"SELECT {row}.invoice_id, i.client_id, i.currency, i.due_date, {values}"
        if from_rows:
            source = f" FROM {row} JOIN invoices i ON i.id = {row}.invoice_id"
        else:
            source = " FROM invoices i"
            conditions.insert(0, f"i.id = {row}.invoice_id")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return select + source + where


def _insert(selects: list[str]) -> str:
    return f"INSERT INTO receivable_changes ({CHANGE_COLUMNS}) " + " UNION ALL ".join(selects)


def _moved(table: str, post: Post) -> list[str]:
    undo = "" if post.sign == "-" else "-"
    return [
        post_select(table, post, "OLD", from_rows=False, sign=undo),
        post_select(table, post, "NEW", from_rows=False),
    ]


# Every change an existing book implies, as the triggers would have posted them.
BACKFILL = _insert(
    [post_select(table, post, table, from_rows=True) for table, posts in INSERT_POSTS.items() for post in posts]
)

# Folding changes into the totals (zero totals deleted) and the daily sales.
_PG_FOLD = """
CREATE FUNCTION receivables_fold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO receivable_totals AS t (client_id, currency, due_date, amount_minor)
  SELECT client_id, currency, due_date, sum(amount_minor) FROM posted
  GROUP BY client_id, currency, due_date ORDER BY client_id, currency, due_date
  ON CONFLICT (client_id, currency, due_date) DO UPDATE SET amount_minor = t.amount_minor + EXCLUDED.amount_minor;
  DELETE FROM receivable_totals t USING posted p
  WHERE t.client_id = p.client_id AND t.currency = p.currency AND t.due_date = p.due_date AND t.amount_minor = 0;
  INSERT INTO receivable_sales AS s (currency, day, amount_minor, entries)
  SELECT currency, effective_on, sum(amount_minor), count(*) FROM posted WHERE kind IN ('invoice', 'credit_note')
  GROUP BY currency, effective_on ORDER BY currency, effective_on
  ON CONFLICT (currency, day) DO UPDATE
  SET amount_minor = s.amount_minor + EXCLUDED.amount_minor, entries = s.entries + EXCLUDED.entries;
  RETURN NULL;
END $$
"""
_SQLITE_FOLD = """
CREATE TRIGGER receivables_fold AFTER INSERT ON receivable_changes BEGIN
  INSERT INTO receivable_totals (client_id, currency, due_date, amount_minor)
  VALUES (NEW.client_id, NEW.currency, NEW.due_date, NEW.amount_minor)
  ON CONFLICT (client_id, currency, due_date) DO UPDATE SET amount_minor = amount_minor + excluded.amount_minor;
  DELETE FROM receivable_totals
  WHERE client_id = NEW.client_id AND currency = NEW.currency AND due_date = NEW.due_date AND amount_minor = 0;
  INSERT INTO receivable_sales (currency, day, amount_minor, entries)
  SELECT NEW.currency, NEW.effective_on, NEW.amount_minor, 1 WHERE NEW.kind IN ('invoice', 'credit_note')
  ON CONFLICT (currency, day) DO UPDATE
  SET amount_minor = amount_minor + excluded.amount_minor, entries = entries + excluded.entries;
END
"""


def _postgres_triggers() -> list[str]:
    """Statement triggers with transition tables for inserts (one posting per bulk insert or
    COPY), row triggers for the rare change of a voiding or reversal date."""
    out = [
        _PG_FOLD,
        "CREATE TRIGGER receivables_fold AFTER INSERT ON receivable_changes REFERENCING NEW TABLE AS posted "
        "FOR EACH STATEMENT EXECUTE FUNCTION receivables_fold()",
    ]
    for table, posts in INSERT_POSTS.items():
        body = _insert([post_select(table, post, "new_rows", from_rows=True) for post in posts])
        out.append(
            f"CREATE FUNCTION receivables_post_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  {body};\n  RETURN NULL;\nEND $$"
        )
        out.append(
            f"CREATE TRIGGER receivables_post_{table} AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION receivables_post_{table}()"
        )
    for table, post in UPDATE_POSTS.items():
        column = post.date
        out.append(
            f"CREATE FUNCTION receivables_move_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  {_insert(_moved(table, post))};\n  RETURN NULL;\nEND $$"
        )
        out.append(
            f"CREATE TRIGGER receivables_move_{table} AFTER UPDATE OF {column} ON {table} FOR EACH ROW "
            f"WHEN (OLD.{column} IS DISTINCT FROM NEW.{column}) EXECUTE FUNCTION receivables_move_{table}()"
        )
    return out


def _sqlite_triggers() -> list[str]:
    """Row triggers, one plain INSERT per change (faster in SQLite than a UNION)."""
    out = [_SQLITE_FOLD]
    for table, posts in INSERT_POSTS.items():
        body = "".join(f"  {_insert([post_select(table, post, 'NEW', from_rows=False)])};\n" for post in posts)
        out.append(f"CREATE TRIGGER receivables_post_{table} AFTER INSERT ON {table} BEGIN\n{body}END")
    for table, post in UPDATE_POSTS.items():
        column = post.date
        body = "".join(f"  {_insert([select])};\n" for select in _moved(table, post))
        out.append(
            f"CREATE TRIGGER receivables_move_{table} AFTER UPDATE OF {column} ON {table} "
            f"WHEN OLD.{column} IS NOT NEW.{column} BEGIN\n{body}END"
        )
    return out


def upgrade() -> None:
    op.create_table(
        "receivable_changes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivable_changes")),
    )
    op.create_table(
        "receivable_totals",
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "currency", "due_date", name=op.f("pk_receivable_totals")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "receivable_sales",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("currency", "day", name=op.f("pk_receivable_sales")),
        sqlite_with_rowid=False,
    )
    op.execute(BACKFILL)
    op.execute(BACKFILL_TOTALS)
    op.execute(BACKFILL_SALES)
    op.create_index(
        "ix_receivable_changes_effective_on",
        "receivable_changes",
        ["effective_on", "client_id", "currency", "due_date", "amount_minor"],
    )
    op.create_index("ix_receivable_changes_invoice_id", "receivable_changes", ["invoice_id", "effective_on"])
    op.create_index("ix_receivable_changes_client_id", "receivable_changes", ["client_id", "effective_on"])
    op.create_index("ix_invoices_voided_on", "invoices", ["voided_on"])
    op.create_index("ix_allocations_reversed_on", "allocations", ["reversed_on"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _postgres_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in INSERT_POSTS:
        op.execute(f"DROP TRIGGER IF EXISTS receivables_post_{table}" + (f" ON {table}" if postgres else ""))
    for table in UPDATE_POSTS:
        op.execute(f"DROP TRIGGER IF EXISTS receivables_move_{table}" + (f" ON {table}" if postgres else ""))
    op.execute("DROP TRIGGER IF EXISTS receivables_fold" + (" ON receivable_changes" if postgres else ""))
    if postgres:
        for table in INSERT_POSTS:
            op.execute(f"DROP FUNCTION IF EXISTS receivables_post_{table}()")
        for table in UPDATE_POSTS:
            op.execute(f"DROP FUNCTION IF EXISTS receivables_move_{table}()")
        op.execute("DROP FUNCTION IF EXISTS receivables_fold()")
    op.drop_index("ix_allocations_reversed_on", table_name="allocations")
    op.drop_index("ix_invoices_voided_on", table_name="invoices")
    op.drop_table("receivable_sales")
    op.drop_table("receivable_totals")
    op.drop_table("receivable_changes")
