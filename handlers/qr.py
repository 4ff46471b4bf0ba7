"""The invitation link as a QR code (PNG) for posters and slides, made in
memory with segno."""
from __future__ import annotations

import io

SCALE = 16  # pixels per module: a version 3–4 code is ~600 px wide, sharp when printed at A4
BORDER = 4  # the quiet zone the QR standard asks for, in modules


def qr_png(link: str, *, scale: int = SCALE, border: int = BORDER) -> bytes:
    """A black-on-white PNG of `link` (error correction M: readable with a
    quarter of it covered by a logo or a fold)."""
    import segno

    code = segno.make(link, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_size(link: str, *, scale: int = SCALE, border: int = BORDER) -> tuple[int, int]:
    """The PNG's width and height in pixels, as segno computes them."""
    import segno

    return segno.make(link, error="m", micro=False).symbol_size(scale=scale, border=border)
