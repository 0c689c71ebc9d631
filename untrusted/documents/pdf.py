"""PDFs through PDFium: the text layer of each page within the budget, and pages without one
(scanned) rendered to PNG images the model can look at, a few at most.
"""

from __future__ import annotations

import io

from untrusted.documents.common import Budget, DocumentUnreadable, ExtractedDocument, finish

MAX_PDF_PAGES = 200  # pages whose text is read
MAX_SCANNED_PAGES = 3  # pages rendered to images when a PDF has no text layer
MAX_IMAGE_SIDE = 2048  # longest side, in pixels, of a rendered scanned page
SCANNED_PAGE_MIN_CHARS = 20  # a PDF page with fewer non-space characters has no text layer


def extract_pdf(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise DocumentUnreadable("it is password-protected") from exc
        if code == pdfium_c.FPDF_ERR_SUCCESS:  # it opened, but has no pages
            raise DocumentUnreadable("it is empty") from exc
        raise DocumentUnreadable("it looks damaged") from exc
    budget = Budget()
    try:
        total = len(pdf)
        if total < 1:
            raise DocumentUnreadable("it is empty")
        parts: list[str] = []
        images: list[bytes] = []
        scanned = 0
        has_text = False
        for index in range(min(total, MAX_PDF_PAGES)):
            if budget.spent:  # pages past the cut are not even loaded
                break
            text, text_layer, has_objects, image = _pdf_page(
                pdf, index, len(images) < MAX_SCANNED_PAGES, budget
            )
            number = index + 1
            if text_layer:
                has_text = True
                part = f"--- page {number} ---\n{text}"
            elif not has_objects:
                part = f"--- page {number}: blank ---"
            else:
                scanned += 1
                if image is not None:
                    images.append(image)
                    note = "scanned, sent as an image"
                else:
                    note = "scanned, not sent as an image"
                # What little text a scanned page has (a stamp, a page number) is kept.
                part = f"--- page {number}: {note} ---" + (f"\n{text}" if text else "")
            parts.append(part)
            budget.spend(len(part) + 2)
        cuts: list[str] = []
        if len(parts) < total:
            cuts.append(f"read pages 1-{len(parts)} of {total}")
        if scanned > len(images):
            cuts.append(f"only {len(images)} of {scanned} scanned pages sent as images")
    finally:
        pdf.close()
    if not has_text and not images:
        raise DocumentUnreadable("it is empty")
    return finish(name, kind, "\n\n".join(parts), cuts, images, rest=budget.rest)


def _has_text_layer(text: str) -> bool:
    return sum(1 for ch in text if not ch.isspace()) >= SCANNED_PAGE_MIN_CHARS


def _pdf_page(
    pdf: object, index: int, may_render: bool, budget: Budget
) -> tuple[str, bool, bool, bytes | None]:
    """One page's text, whether that is a text layer, whether the page draws anything, and
    its PNG rendering if it is scanned. Reads no more text than the budget has left."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    assert isinstance(pdf, pdfium.PdfDocument)
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            count = textpage.count_chars()
            text = textpage.get_text_range(0, min(count, budget.left)) if count > 0 else ""
        finally:
            textpage.close()
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
        if count > budget.left:  # more text than is kept: a text layer, cut
            budget.unread = True
            return text, True, True, None
        if _has_text_layer(text):
            return text, True, True, None
        has_objects = bool(pdfium_c.FPDFPage_CountObjects(page.raw) > 0)
        if not has_objects or not may_render:
            return text, False, has_objects, None
        return text, False, True, _render_page(page)
    finally:
        page.close()


def _render_page(page: object) -> bytes | None:
    """The page as a PNG whose longest side is at most `MAX_IMAGE_SIDE`, or None."""
    import pypdfium2 as pdfium

    assert isinstance(page, pdfium.PdfPage)
    width, height = page.get_size()
    longest = max(width, height)
    if not (longest > 0 and min(width, height) > 0) or longest == float("inf"):
        return None
    scale = min(MAX_IMAGE_SIDE / longest, 4.0) * 0.999
    if min(width, height) * scale < 1:  # a sliver of a page: not even one pixel across
        return None
    bitmap = page.render(scale=scale, may_draw_forms=False)
    try:
        image = bitmap.to_pil()
        image = image.convert("RGB")
    finally:
        bitmap.close()
    if max(image.size) > MAX_IMAGE_SIDE:
        image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
