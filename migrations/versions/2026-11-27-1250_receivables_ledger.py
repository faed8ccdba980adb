"""receivables ledger: dated balance changes, open totals per client, currency and due date, daily sales

Revision ID: 0011_receivables_ledger
Revises: 0010_pages
Create Date: 2026-11-27 12:50:00

The three tables are written only by triggers on invoices, allocations, credit notes and
write-offs (and, for the totals and sales, on the changes themselves), so every writer keeps
them right. The existing book is posted once here, before the triggers exist.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_receivables_ledger"
down_revision: str | None = "0010_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHANGE_COLUMNS = "invoice_id, client_id, currency, due_date, effective_on, kind, amount_minor"

# Every change an existing book implies, in the order the triggers would have posted them.
BACKFILL = """
INSERT INTO receivable_changes (invoice_id, client_id, currency, due_date, effective_on, kind, amount_minor)
SELECT id, client_id, currency, due_date, issue_date, 'invoice', total_minor FROM invoices
UNION ALL
SELECT id, client_id, currency, due_date, voided_on, 'void', -total_minor FROM invoices WHERE voided_on IS NOT NULL
UNION ALL
SELECT a.invoice_id, i.client_id, i.currency, i.due_date, a.applied_on, 'allocation', -a.amount_minor
  FROM allocations a JOIN invoices i ON i.id = a.invoice_id
UNION ALL
SELECT a.invoice_id, i.client_id, i.currency, i.due_date, a.reversed_on, 'reversal', a.amount_minor
  FROM allocations a JOIN invoices i ON i.id = a.invoice_id WHERE a.reversed_on IS NOT NULL
UNION ALL
SELECT c.invoice_id, i.client_id, i.currency, i.due_date, c.issued_on, 'credit_note', -c.amount_minor
  FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
UNION ALL
SELECT w.invoice_id, i.client_id, i.currency, i.due_date, w.written_off_on, 'write_off', -w.amount_minor
  FROM write_offs w JOIN invoices i ON i.id = w.invoice_id
"""
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

# What each event posts: (trigger name, table, SELECT of the change rows from `{row}` / `{old}`).
# `{row}` is NEW (SQLite, row triggers) or the transition table `new_rows` (PostgreSQL).
_INVOICE_POSTS = """
SELECT {row}.id, {row}.client_id, {row}.currency, {row}.due_date, {row}.issue_date, 'invoice', {row}.total_minor
  {from_row}
UNION ALL
SELECT {row}.id, {row}.client_id, {row}.currency, {row}.due_date, {row}.voided_on, 'void', -{row}.total_minor
  {from_row} WHERE {row}.voided_on IS NOT NULL
"""
_ALLOCATION_POSTS = """
SELECT {row}.invoice_id, i.client_id, i.currency, i.due_date, {row}.applied_on, 'allocation', -{row}.amount_minor
  {from_row} JOIN invoices i ON i.id = {row}.invoice_id
UNION ALL
SELECT {row}.invoice_id, i.client_id, i.currency, i.due_date, {row}.reversed_on, 'reversal', {row}.amount_minor
  {from_row} JOIN invoices i ON i.id = {row}.invoice_id WHERE {row}.reversed_on IS NOT NULL
"""
_CREDIT_POSTS = """
SELECT {row}.invoice_id, i.client_id, i.currency, i.due_date, {row}.issued_on, 'credit_note', -{row}.amount_minor
  {from_row} JOIN invoices i ON i.id = {row}.invoice_id
"""
_WRITE_OFF_POSTS = """
SELECT {row}.invoice_id, i.client_id, i.currency, i.due_date, {row}.written_off_on, 'write_off', -{row}.amount_minor
  {from_row} JOIN invoices i ON i.id = {row}.invoice_id
"""
INSERT_POSTS = {
    "invoices": _INVOICE_POSTS,
    "allocations": _ALLOCATION_POSTS,
    "credit_notes": _CREDIT_POSTS,
    "write_offs": _WRITE_OFF_POSTS,
}
# A voiding date or a reversal date changed (set, cleared or moved): take back what the old
# date posted, post the new one.
_VOID_MOVED = """
SELECT OLD.id, OLD.client_id, OLD.currency, OLD.due_date, OLD.voided_on, 'void', OLD.total_minor
  WHERE OLD.voided_on IS NOT NULL
UNION ALL
SELECT NEW.id, NEW.client_id, NEW.currency, NEW.due_date, NEW.voided_on, 'void', -NEW.total_minor
  WHERE NEW.voided_on IS NOT NULL
"""
_REVERSAL_MOVED = """
SELECT OLD.invoice_id, i.client_id, i.currency, i.due_date, OLD.reversed_on, 'reversal', -OLD.amount_minor
  FROM invoices i WHERE i.id = OLD.invoice_id AND OLD.reversed_on IS NOT NULL
UNION ALL
SELECT NEW.invoice_id, i.client_id, i.currency, i.due_date, NEW.reversed_on, 'reversal', NEW.amount_minor
  FROM invoices i WHERE i.id = NEW.invoice_id AND NEW.reversed_on IS NOT NULL
"""
UPDATE_POSTS = {"invoices": ("voided_on", _VOID_MOVED), "allocations": ("reversed_on", _REVERSAL_MOVED)}

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
    out = [
        _PG_FOLD,
        "CREATE TRIGGER receivables_fold AFTER INSERT ON receivable_changes REFERENCING NEW TABLE AS posted "
        "FOR EACH STATEMENT EXECUTE FUNCTION receivables_fold()",
    ]
    for table, posts in INSERT_POSTS.items():
        body = posts.format(row="new_rows", from_row="FROM new_rows")
        out.append(
            f"CREATE FUNCTION receivables_post_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  INSERT INTO receivable_changes ({CHANGE_COLUMNS}) {body};\n  RETURN NULL;\nEND $$"
        )
        out.append(
            f"CREATE TRIGGER receivables_post_{table} AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION receivables_post_{table}()"
        )
    for table, (column, moved) in UPDATE_POSTS.items():
        out.append(
            f"CREATE FUNCTION receivables_move_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  INSERT INTO receivable_changes ({CHANGE_COLUMNS}) {moved};\n  RETURN NULL;\nEND $$"
        )
        out.append(
            f"CREATE TRIGGER receivables_move_{table} AFTER UPDATE OF {column} ON {table} FOR EACH ROW "
            f"WHEN (OLD.{column} IS DISTINCT FROM NEW.{column}) EXECUTE FUNCTION receivables_move_{table}()"
        )
    return out


def _sqlite_triggers() -> list[str]:
    out = [_SQLITE_FOLD]
    for table, posts in INSERT_POSTS.items():
        # SQLite has no FROM for NEW: the row's own SELECT has none, a join starts from the invoice.
        body = posts.format(row="NEW", from_row="FROM (SELECT 1)")
        out.append(
            f"CREATE TRIGGER receivables_post_{table} AFTER INSERT ON {table} BEGIN\n"
            f"  INSERT INTO receivable_changes ({CHANGE_COLUMNS}) {body};\nEND"
        )
    for table, (column, moved) in UPDATE_POSTS.items():
        out.append(
            f"CREATE TRIGGER receivables_move_{table} AFTER UPDATE OF {column} ON {table} "
            f"WHEN OLD.{column} IS NOT NEW.{column} BEGIN\n"
            f"  INSERT INTO receivable_changes ({CHANGE_COLUMNS}) {moved};\nEND"
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
    )
    op.create_table(
        "receivable_sales",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("currency", "day", name=op.f("pk_receivable_sales")),
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
