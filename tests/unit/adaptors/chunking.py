"""Cutting recorded wire bytes into awkward pieces, to prove stream parsing ignores chunk boundaries."""


def odd_chunks(raw: bytes, size: int) -> list[bytes]:
    """The bytes cut into pieces of growing sizes, so that boundaries fall mid-line and mid-character."""
    pieces, start = [], 0
    while start < len(raw):
        pieces.append(raw[start:start + size])
        start, size = start + size, size + 2
    return pieces
