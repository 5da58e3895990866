"""Chinese strings of the tokens pages."""

ZH: dict[str, str] = {
}
