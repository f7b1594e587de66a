"""web inbox: UI sessions, read state, and (status, id) / (source, id) message indexes (issue 12)"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "uisession",
        sa.Column("id_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["apitoken.id"]),
        sa.PrimaryKeyConstraint("id_sha256"),
    )
    with op.batch_alter_table("uisession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uisession_token_id"), ["token_id"], unique=False)

    op.create_table(
        "messageseen",
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=26), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )

    # Newest-first pages filtered by status or source, and the oldest pending message, as one
    # index range each (the single-column indexes left a sort of every matching row).
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_status")
        batch_op.drop_index("ix_message_source")
        batch_op.create_index("ix_message_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_message_source_id", ["source", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_source_id")
        batch_op.drop_index("ix_message_status_id")
        batch_op.create_index("ix_message_source", ["source"], unique=False)
        batch_op.create_index("ix_message_status", ["status"], unique=False)
    op.drop_table("messageseen")
    with op.batch_alter_table("uisession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uisession_token_id"))
    op.drop_table("uisession")
