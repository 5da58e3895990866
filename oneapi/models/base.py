"""Model base and the column types that reproduce One API's GORM schema on every engine.

GORM maps Go types per dialect: `int`/`int64` to bigint (integer on SQLite), plain `string` to
text (longtext on MySQL, varchar(191) on MySQL when indexed or defaulted), `bool` to boolean
(numeric on SQLite), `float64` to double/real. These helpers give the same column types so a
database written by One API and one created here are interchangeable.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from oneapi.extensions import db

# Every model derives from db.Model, so Flask-SQLAlchemy can route `__bind_key__` tables.
Base = db.Model


def _mysql(kind: sa.types.TypeEngine, mysql_kind: sa.types.TypeEngine) -> sa.types.TypeEngine:
    return kind.with_variant(mysql_kind, "mysql", "mariadb")


# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
PrimaryKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Int = sa.Integer()
Text = _mysql(sa.Text(), mysql.LONGTEXT())
IndexedText = _mysql(sa.Text(), sa.String(191))
Bool = sa.Boolean(create_constraint=False)
Float = _mysql(sa.Float(), mysql.DOUBLE(asdecimal=False)).with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")


def Char(length: int) -> sa.types.TypeEngine:  # noqa: N802 - reads like the SQL type it is
    return sa.CHAR(length)


def Varchar(length: int) -> sa.types.TypeEngine:  # noqa: N802
    return sa.String(length)
