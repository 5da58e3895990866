"""Chinese strings of the channels pages."""

ZH: dict[str, str] = {
}
