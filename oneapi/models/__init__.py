"""Every table, imported here so Alembic sees the whole schema."""

from oneapi.models.channel import Ability, Channel, ChannelStatus
from oneapi.models.log import Log, LogType
from oneapi.models.option import Option
from oneapi.models.redemption import Redemption, RedemptionStatus
from oneapi.models.token import Token, TokenStatus
from oneapi.models.user import Role, User, UserStatus

__all__ = [
    "Ability", "Channel", "ChannelStatus", "Log", "LogType", "Option", "Redemption",
    "RedemptionStatus", "Role", "Token", "TokenStatus", "User", "UserStatus",
]
