"""message: bcc, spam verdict, stripped text (provider fields that had nowhere to go)"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    # Nullable, no default: existing rows read as "the provider did not say".
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bcc", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column("spam", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column("stripped_text", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("stripped_text")
        batch_op.drop_column("spam")
        batch_op.drop_column("bcc")
