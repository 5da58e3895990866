"""Chinese strings of the dashboard pages."""

ZH: dict[str, str] = {
}
