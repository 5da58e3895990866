"""Chinese strings of the settings pages."""

ZH: dict[str, str] = {
}
