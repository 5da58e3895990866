"""Chinese strings of the users pages."""

ZH: dict[str, str] = {
}
