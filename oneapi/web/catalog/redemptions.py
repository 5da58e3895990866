"""Chinese strings of the redemptions pages."""

ZH: dict[str, str] = {
}
