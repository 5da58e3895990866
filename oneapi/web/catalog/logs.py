"""Chinese strings of the logs pages."""

ZH: dict[str, str] = {
}
